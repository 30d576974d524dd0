"""Error bodies the service adds to the contract (401, 403, 413, 415, 429, 503, and its own 400/500),
in the contract's shape ``{"error", "message", "details"?, "retry_after"?}``.

``error`` is a stable English category; ``message`` and ``details`` follow ``Accept-Language``
like the library's errors. No body ever contains a token, a secret or a payload value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERRORS", "service_error_body"]

# status -> stable English category
ERRORS = {
    400: "Invalid format",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Service error",
    503: "Service unavailable",
}

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "unauthorized": "A valid bearer token is required.",
        "no_bearer": "Send 'Authorization: Bearer <token>'.",
        "bad_token": "The token is not valid.",
        "forbidden": "This tenant is not allowed to use this token.",
        "tenant_missing": "The X-Customer-Api-Id header is required (no default tenant is configured).",
        "secret_missing": "The X-Secret header is required.",
        "tenant_mismatch": "The tenant id and secret do not match this token.",
        "too_large": "The request body is too large.",
        "too_large_detail": "The body exceeds {mb} MB{after}.",
        "after_gzip": " after gzip decoding",
        "bad_encoding": "The request body's encoding is not supported.",
        "bad_encoding_detail": "Only 'gzip' or 'identity' are accepted.",
        "bad_type": "The request body must be JSON.",
        "bad_type_detail": "Send 'Content-Type: application/json'.",
        "bad_gzip": "Data format does not match expected schema.",
        "bad_gzip_detail": "The gzip stream is truncated or corrupt.",
        "rate_limited": "Rate limit exceeded: at most {limit} requests per minute for this tenant.",
        "tenant_busy": "Too many requests of this tenant in progress (at most {limit} at once).",
        "busy": "The service is busy; try again shortly.",
        "draining": "The service is shutting down; try again shortly.",
        "service_error": "Failed to process request due to AI service error.",
        "timeout": "Failed to process request due to AI service error: the time limit was exceeded.",
        "not_found": "No such endpoint.",
        "method": "Method not allowed on this endpoint.",
    },
    "es": {
        "unauthorized": "Se requiere un token bearer válido.",
        "no_bearer": "Envíe 'Authorization: Bearer <token>'.",
        "bad_token": "El token no es válido.",
        "forbidden": "Este inquilino no puede usar este token.",
        "tenant_missing": "La cabecera X-Customer-Api-Id es obligatoria (no hay inquilino por defecto).",
        "secret_missing": "La cabecera X-Secret es obligatoria.",
        "tenant_mismatch": "El identificador de inquilino y el secreto no corresponden a este token.",
        "too_large": "El cuerpo de la solicitud es demasiado grande.",
        "too_large_detail": "El cuerpo supera {mb} MB{after}.",
        "after_gzip": " tras descomprimir gzip",
        "bad_encoding": "La codificación del cuerpo de la solicitud no está admitida.",
        "bad_encoding_detail": "Solo se aceptan 'gzip' o 'identity'.",
        "bad_type": "El cuerpo de la solicitud debe ser JSON.",
        "bad_type_detail": "Envíe 'Content-Type: application/json'.",
        "bad_gzip": "El formato de los datos no coincide con el esquema esperado.",
        "bad_gzip_detail": "El flujo gzip está truncado o dañado.",
        "rate_limited": "Límite de solicitudes superado: como máximo {limit} por minuto para este inquilino.",
        "tenant_busy": "Demasiadas solicitudes de este inquilino en curso (como máximo {limit} a la vez).",
        "busy": "El servicio está ocupado; inténtelo de nuevo en breve.",
        "draining": "El servicio se está deteniendo; inténtelo de nuevo en breve.",
        "service_error": "No se pudo procesar la solicitud por un error del servicio de IA.",
        "timeout": "No se pudo procesar la solicitud por un error del servicio de IA: se superó el tiempo límite.",
        "not_found": "Este punto de acceso no existe.",
        "method": "Método no permitido en este punto de acceso.",
    },
    "pt": {
        "unauthorized": "É necessário um token bearer válido.",
        "no_bearer": "Envie 'Authorization: Bearer <token>'.",
        "bad_token": "O token não é válido.",
        "forbidden": "Este tenant não pode usar este token.",
        "tenant_missing": "O cabeçalho X-Customer-Api-Id é obrigatório (nenhum tenant padrão configurado).",
        "secret_missing": "O cabeçalho X-Secret é obrigatório.",
        "tenant_mismatch": "O identificador do tenant e o segredo não correspondem a este token.",
        "too_large": "O corpo da requisição é grande demais.",
        "too_large_detail": "O corpo excede {mb} MB{after}.",
        "after_gzip": " após descompactar o gzip",
        "bad_encoding": "A codificação do corpo da requisição não é suportada.",
        "bad_encoding_detail": "Somente 'gzip' ou 'identity' são aceitos.",
        "bad_type": "O corpo da requisição deve ser JSON.",
        "bad_type_detail": "Envie 'Content-Type: application/json'.",
        "bad_gzip": "O formato dos dados não corresponde ao esquema esperado.",
        "bad_gzip_detail": "O fluxo gzip está truncado ou corrompido.",
        "rate_limited": "Limite de requisições excedido: no máximo {limit} por minuto para este tenant.",
        "tenant_busy": "Requisições demais deste tenant em andamento (no máximo {limit} ao mesmo tempo).",
        "busy": "O serviço está ocupado; tente novamente em instantes.",
        "draining": "O serviço está sendo encerrado; tente novamente em instantes.",
        "service_error": "Falha ao processar a requisição devido a um erro do serviço de IA.",
        "timeout": "Falha ao processar a requisição devido a um erro do serviço de IA: o tempo limite foi excedido.",
        "not_found": "Este endpoint não existe.",
        "method": "Método não permitido neste endpoint.",
    },
}


def text(language: str, key: str, **params: Any) -> str:
    """A localized sentence of the service (English when the language is unknown).

    Parameters
    ----------
    language : str
    key : str
    **params
        Values for the sentence's placeholders.

    Returns
    -------
    str
    """
    table = _TEXT.get(language, _TEXT["en"])
    return table[key].format(**params)


def service_error_body(
    status: int,
    language: str,
    message_key: str,
    details: dict[str, str] | None = None,
    *,
    retry_after: int | None = None,
    **params: Any,
) -> dict[str, Any]:
    """The body of an error the service itself produces.

    Parameters
    ----------
    status : int
    language : str
    message_key : str
        Key of the sentence in the catalogue.
    details : dict, optional
        Path -> catalogue key of the sentence about it.
    retry_after : int, optional
        Seconds, added as ``retry_after`` (429, 500, 503).
    **params
        Values for the placeholders of the message and details.

    Returns
    -------
    dict
    """
    body: dict[str, Any] = {"error": ERRORS[status], "message": text(language, message_key, **params)}
    if details:
        body["details"] = {path: text(language, key, **params) for path, key in details.items()}
    if status == 400:
        body["expected_format"] = "Array of objects with required fields"
    if retry_after is not None:
        body["retry_after"] = int(retry_after)
    return body
