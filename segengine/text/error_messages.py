"""Localized sentences of the request contract's errors (en, es, pt).

Kept apart from the report catalogue: errors are raised long before any segment exists, and the
service must be able to speak the caller's language even when the payload is unusable.
"""

from __future__ import annotations

from segengine.text.language import LANGUAGES  # noqa: F401 - re-exported

ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "invalid_json": "The request body is not valid JSON: {reason}.",
        "body_not_object": "The request body must be a JSON object with a data array.",
        "format_mismatch": "Data format does not match expected schema.",
        "record_not_object": "Each record must be an object.",
        "data_required": "The data field is required and must be an array.",
        "data_empty": "The data field is required and must contain at least one record.",
        "validation_failed": "Invalid data format",
        "required_missing": "Required fields missing",
        "options_invalid": "Invalid options",
        "must_be_number": "The {field} field must be a number.",
        "must_be_string": "The {field} field must be a string.",
        "must_be_boolean": "The {field} field must be a boolean.",
        "must_be_scalar": "The {field} field must be a number, a string, a boolean or null, not {kind}.",
        "must_be_date": "The {field} field must be an ISO-8601 date (YYYY-MM-DD).",
        "must_be_finite": "The {field} field must be a finite number.",
        "id_type": "The {field} field must be a string or an integer.",
        "id_missing": "The {field} field is required in every record when any record has it.",
        "id_duplicate": "Duplicate id {value!r}: it was already used by {first}.",
        "too_many_records": "Too many records: {n} given, at most {max} allowed.",
        "too_few_records": "At least {min} records are needed to find segments; {n} given.",
        "no_features": "No usable feature field: every field is an id, excluded, constant, missing or has too many distinct values.",
        "unknown_parameter": "Unknown parameter {name!r}.",
        "unknown_option": "Unknown option {name!r}.",
        "unknown_option_hint": "Unknown option {name!r}; did you mean {hint!r}?",
        "option_int": "The {name} option must be an integer{range}.",
        "option_int_range_min": " >= {min}",
        "option_int_range_between": " between {min} and {max}",
        "option_bool": "The {name} parameter must be a boolean.",
        "option_choice": "The {name} option must be one of {choices}.",
        "option_string": "The {name} option must be a non-empty string.",
        "option_list": "The {name} option must be a list of field names.",
        "option_object": "The options field must be an object.",
        "option_kmin_kmax": "k_min ({k_min}) must not exceed k_max ({k_max}).",
        "unknown_field": "Unknown field {name!r}: no record has it.",
        "n_clusters_too_large": "n_clusters ({k}) must be smaller than the number of records ({n}).",
        "more_errors": "{n} more invalid values are not listed.",
        "warn_missing": "{n} missing values in {field} were imputed ({how}).",
        "warn_high_cardinality": "Field {field} has {n} distinct values (more than max_categories = {max}); it was left out of clustering.",
        "warn_constant": "Field {field} has a single value; it was left out of clustering.",
        "warn_empty": "Field {field} has no values; it was left out.",
        "warn_k_max_capped": "k_max was lowered to {k} (the number of records minus one).",
        "warn_k_range_capped": "Only {distinct} distinct records: k is limited to {k}.",
        "warn_time_budget": "The k search stopped after k = {k} to respect time_budget_ms = {ms}.",
        "warn_near_tie": "k = {a} and k = {b} have almost the same silhouette ({gap} apart): both are reasonable.",
        "warn_gmm_failed": "The Gaussian mixture could not be fitted ({reason}); KMeans was used.",
        "warn_sampled": "Silhouette scores were estimated on a sample of {s} of {n} records.",
        "warn_dask_results": "The {n} records stay on the cluster: the results list is empty; label them with segengine.dask.predict(model, ddf).",
        "warn_dask_quantiles": "Medians and quartiles per segment are approximate (within {pct} of a segment's records in rank); means, std, min and max are exact.",
        "warn_gmm_degenerate": "The Gaussian mixture is degenerate: {n} component(s) collapsed onto a single value (first along {field}), so its likelihood is no evidence of structure; consider algorithm = 'kmeans'.",
        "warn_unstable_segment": "Segment {segment} is unstable: in resampled fits it was recovered with a Jaccard similarity of only {pct}% (below 60%); treat it with caution.",
        "exact_silhouette_too_large": "silhouette = 'exact' compares every pair of records and is limited to {max} records (about {seconds} s there); {n} given. Use 'auto' or 'sampled'.",
        "how_median": "median",
        "how_mean": "mean",
        "how_none": "as its own level",
        "width_mismatch": "The model was fitted on {expected} columns; these records have {got}.",
        "no_model_fields": "None of the model's fields ({fields}) is in these records.",
        "id_field_missing": "No record has the id field {name!r}.",
        "id_field_in_features": "{name!r} is the id field; it cannot be a feature.",
        "duplicate_key": "The key {name!r} appears more than once in this object.",
        "more_details": "{n} more problems are not listed.",
        "too_many_fields": "The records name {n} distinct fields; with {rows} records at most {max} fields can be read.",
        "too_wide": "The fields give {n} model columns (one per categorical level); at most {max} are allowed with {rows} records: lower max_categories or choose features.",
        "conflicting_spellings": "{a!r} and {b!r} name the same parameter with different values.",
        "option_with_model": "This option does not apply when scoring with a fitted model.",
        "service_error": "Failed to process request due to AI service error.",
    },
    "es": {
        "invalid_json": "El cuerpo de la solicitud no es JSON válido: {reason}.",
        "body_not_object": "El cuerpo de la solicitud debe ser un objeto JSON con un arreglo data.",
        "format_mismatch": "El formato de los datos no coincide con el esquema esperado.",
        "record_not_object": "Cada registro debe ser un objeto.",
        "data_required": "El campo data es obligatorio y debe ser un arreglo.",
        "data_empty": "El campo data es obligatorio y debe contener al menos un registro.",
        "validation_failed": "Formato de datos no válido",
        "required_missing": "Faltan campos obligatorios",
        "options_invalid": "Opciones no válidas",
        "must_be_number": "El campo {field} debe ser un número.",
        "must_be_string": "El campo {field} debe ser una cadena de texto.",
        "must_be_boolean": "El campo {field} debe ser un booleano.",
        "must_be_scalar": "El campo {field} debe ser un número, un texto, un booleano o null, no {kind}.",
        "must_be_date": "El campo {field} debe ser una fecha ISO-8601 (AAAA-MM-DD).",
        "must_be_finite": "El campo {field} debe ser un número finito.",
        "id_type": "El campo {field} debe ser una cadena de texto o un entero.",
        "id_missing": "El campo {field} es obligatorio en todos los registros cuando algún registro lo tiene.",
        "id_duplicate": "Id duplicado {value!r}: ya lo usa {first}.",
        "too_many_records": "Demasiados registros: se enviaron {n}, el máximo es {max}.",
        "too_few_records": "Se necesitan al menos {min} registros para encontrar segmentos; se enviaron {n}.",
        "no_features": "Ningún campo utilizable: todos son id, están excluidos, son constantes, faltan o tienen demasiados valores distintos.",
        "unknown_parameter": "Parámetro desconocido {name!r}.",
        "unknown_option": "Opción desconocida {name!r}.",
        "unknown_option_hint": "Opción desconocida {name!r}; ¿quiso decir {hint!r}?",
        "option_int": "La opción {name} debe ser un entero{range}.",
        "option_int_range_min": " >= {min}",
        "option_int_range_between": " entre {min} y {max}",
        "option_bool": "El parámetro {name} debe ser un booleano.",
        "option_choice": "La opción {name} debe ser una de {choices}.",
        "option_string": "La opción {name} debe ser una cadena de texto no vacía.",
        "option_list": "La opción {name} debe ser una lista de nombres de campo.",
        "option_object": "El campo options debe ser un objeto.",
        "option_kmin_kmax": "k_min ({k_min}) no puede superar k_max ({k_max}).",
        "unknown_field": "Campo desconocido {name!r}: ningún registro lo tiene.",
        "n_clusters_too_large": "n_clusters ({k}) debe ser menor que el número de registros ({n}).",
        "more_errors": "Hay {n} valores no válidos más que no se listan.",
        "warn_missing": "Se imputaron {n} valores faltantes en {field} ({how}).",
        "warn_high_cardinality": "El campo {field} tiene {n} valores distintos (más que max_categories = {max}); se dejó fuera del agrupamiento.",
        "warn_constant": "El campo {field} tiene un único valor; se dejó fuera del agrupamiento.",
        "warn_empty": "El campo {field} no tiene valores; se dejó fuera.",
        "warn_k_max_capped": "k_max se redujo a {k} (el número de registros menos uno).",
        "warn_k_range_capped": "Solo hay {distinct} registros distintos: k se limita a {k}.",
        "warn_time_budget": "La búsqueda de k se detuvo tras k = {k} para respetar time_budget_ms = {ms}.",
        "warn_near_tie": "k = {a} y k = {b} tienen casi la misma silueta (diferencia de {gap}): ambos son razonables.",
        "warn_gmm_failed": "No se pudo ajustar la mezcla gaussiana ({reason}); se usó KMeans.",
        "warn_sampled": "Las siluetas se estimaron con una muestra de {s} de {n} registros.",
        "warn_dask_results": "Los {n} registros se quedan en el clúster: la lista results está vacía; etiquételos con segengine.dask.predict(model, ddf).",
        "warn_dask_quantiles": "Las medianas y los cuartiles por segmento son aproximados (a menos de {pct} de los registros del segmento en rango); medias, desviaciones, mínimos y máximos son exactos.",
        "warn_gmm_degenerate": "La mezcla gaussiana es degenerada: {n} componente(s) colapsaron sobre un único valor (el primero en {field}), así que su verosimilitud no prueba ninguna estructura; considere algorithm = 'kmeans'.",
        "warn_unstable_segment": "El segmento {segment} es inestable: en ajustes con remuestreo se recuperó con una similitud de Jaccard de solo {pct} % (menos del 60 %); trátelo con cautela.",
        "exact_silhouette_too_large": "silhouette = 'exact' compara cada par de registros y está limitado a {max} registros (unos {seconds} s en ese caso); se recibieron {n}. Use 'auto' o 'sampled'.",
        "how_median": "mediana",
        "how_mean": "media",
        "how_none": "como un nivel propio",
        "width_mismatch": "El modelo se ajustó con {expected} columnas; estos registros tienen {got}.",
        "no_model_fields": "Ninguno de los campos del modelo ({fields}) está en estos registros.",
        "id_field_missing": "Ningún registro tiene el campo id {name!r}.",
        "id_field_in_features": "{name!r} es el campo id; no puede ser una característica.",
        "duplicate_key": "La clave {name!r} aparece más de una vez en este objeto.",
        "more_details": "Hay {n} problemas más que no se listan.",
        "too_many_fields": "Los registros nombran {n} campos distintos; con {rows} registros se pueden leer como máximo {max}.",
        "too_wide": "Los campos dan {n} columnas del modelo (una por nivel categórico); con {rows} registros se permiten como máximo {max}: reduzca max_categories o elija features.",
        "conflicting_spellings": "{a!r} y {b!r} nombran el mismo parámetro con valores distintos.",
        "option_with_model": "Esta opción no se aplica al puntuar con un modelo ajustado.",
        "service_error": "No se pudo procesar la solicitud por un error del servicio de IA.",
    },
    "pt": {
        "invalid_json": "O corpo da requisição não é um JSON válido: {reason}.",
        "body_not_object": "O corpo da requisição deve ser um objeto JSON com um array data.",
        "format_mismatch": "O formato dos dados não corresponde ao esquema esperado.",
        "record_not_object": "Cada registro deve ser um objeto.",
        "data_required": "O campo data é obrigatório e deve ser um array.",
        "data_empty": "O campo data é obrigatório e deve conter pelo menos um registro.",
        "validation_failed": "Formato de dados inválido",
        "required_missing": "Campos obrigatórios ausentes",
        "options_invalid": "Opções inválidas",
        "must_be_number": "O campo {field} deve ser um número.",
        "must_be_string": "O campo {field} deve ser um texto.",
        "must_be_boolean": "O campo {field} deve ser um booleano.",
        "must_be_scalar": "O campo {field} deve ser um número, um texto, um booleano ou null, não {kind}.",
        "must_be_date": "O campo {field} deve ser uma data ISO-8601 (AAAA-MM-DD).",
        "must_be_finite": "O campo {field} deve ser um número finito.",
        "id_type": "O campo {field} deve ser um texto ou um inteiro.",
        "id_missing": "O campo {field} é obrigatório em todos os registros quando algum registro o possui.",
        "id_duplicate": "Id duplicado {value!r}: já usado por {first}.",
        "too_many_records": "Registros demais: {n} enviados, no máximo {max} permitidos.",
        "too_few_records": "São necessários pelo menos {min} registros para encontrar segmentos; {n} enviados.",
        "no_features": "Nenhum campo utilizável: todos são id, excluídos, constantes, ausentes ou têm valores distintos demais.",
        "unknown_parameter": "Parâmetro desconhecido {name!r}.",
        "unknown_option": "Opção desconhecida {name!r}.",
        "unknown_option_hint": "Opção desconhecida {name!r}; você quis dizer {hint!r}?",
        "option_int": "A opção {name} deve ser um inteiro{range}.",
        "option_int_range_min": " >= {min}",
        "option_int_range_between": " entre {min} e {max}",
        "option_bool": "O parâmetro {name} deve ser um booleano.",
        "option_choice": "A opção {name} deve ser uma de {choices}.",
        "option_string": "A opção {name} deve ser um texto não vazio.",
        "option_list": "A opção {name} deve ser uma lista de nomes de campo.",
        "option_object": "O campo options deve ser um objeto.",
        "option_kmin_kmax": "k_min ({k_min}) não pode ser maior que k_max ({k_max}).",
        "unknown_field": "Campo desconhecido {name!r}: nenhum registro o possui.",
        "n_clusters_too_large": "n_clusters ({k}) deve ser menor que o número de registros ({n}).",
        "more_errors": "Há mais {n} valores inválidos não listados.",
        "warn_missing": "{n} valores ausentes em {field} foram imputados ({how}).",
        "warn_high_cardinality": "O campo {field} tem {n} valores distintos (mais que max_categories = {max}); ficou fora do agrupamento.",
        "warn_constant": "O campo {field} tem um único valor; ficou fora do agrupamento.",
        "warn_empty": "O campo {field} não tem valores; ficou de fora.",
        "warn_k_max_capped": "k_max foi reduzido para {k} (o número de registros menos um).",
        "warn_k_range_capped": "Há apenas {distinct} registros distintos: k fica limitado a {k}.",
        "warn_time_budget": "A busca de k parou após k = {k} para respeitar time_budget_ms = {ms}.",
        "warn_near_tie": "k = {a} e k = {b} têm quase a mesma silhueta ({gap} de diferença): ambos são razoáveis.",
        "warn_gmm_failed": "Não foi possível ajustar a mistura gaussiana ({reason}); foi usado KMeans.",
        "warn_sampled": "As silhuetas foram estimadas com uma amostra de {s} de {n} registros.",
        "warn_dask_results": "Os {n} registros ficam no cluster: a lista results está vazia; rotule-os com segengine.dask.predict(model, ddf).",
        "warn_dask_quantiles": "Medianas e quartis por segmento são aproximados (a menos de {pct} dos registros do segmento em posição); médias, desvios, mínimos e máximos são exatos.",
        "warn_gmm_degenerate": "A mistura gaussiana é degenerada: {n} componente(s) colapsaram sobre um único valor (o primeiro em {field}), então sua verossimilhança não prova estrutura; considere algorithm = 'kmeans'.",
        "warn_unstable_segment": "O segmento {segment} é instável: em ajustes reamostrados foi recuperado com similaridade de Jaccard de apenas {pct}% (abaixo de 60%); trate-o com cautela.",
        "exact_silhouette_too_large": "silhouette = 'exact' compara cada par de registros e está limitado a {max} registros (cerca de {seconds} s nesse caso); {n} recebidos. Use 'auto' ou 'sampled'.",
        "how_median": "mediana",
        "how_mean": "média",
        "how_none": "como um nível próprio",
        "width_mismatch": "O modelo foi ajustado com {expected} colunas; estes registros têm {got}.",
        "no_model_fields": "Nenhum dos campos do modelo ({fields}) está nestes registros.",
        "id_field_missing": "Nenhum registro tem o campo id {name!r}.",
        "id_field_in_features": "{name!r} é o campo id; não pode ser uma característica.",
        "duplicate_key": "A chave {name!r} aparece mais de uma vez neste objeto.",
        "more_details": "Há mais {n} problemas não listados.",
        "too_many_fields": "Os registros nomeiam {n} campos distintos; com {rows} registros é possível ler no máximo {max}.",
        "too_wide": "Os campos geram {n} colunas do modelo (uma por nível categórico); com {rows} registros são permitidas no máximo {max}: reduza max_categories ou escolha features.",
        "conflicting_spellings": "{a!r} e {b!r} nomeiam o mesmo parâmetro com valores diferentes.",
        "option_with_model": "Esta opção não se aplica ao pontuar com um modelo ajustado.",
        "service_error": "Falha ao processar a requisição devido a um erro do serviço de IA.",
    },
}

# Roles, scoring warnings and CSV reading (kept together so the three languages stay in step).
_ROLE_SCORING_CSV_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "option_roles_object": "roles must be an object mapping field names to roles.",
        "option_role_choice": "The role of {name!r} must be one of: {choices}.",
        "role_unknown_field": "No record has the field {name!r}.",
        "role_wrong_kind": "The field {name!r} is {kind} and cannot have the role {role}.",
        "warn_scoring_absent": "Field {field} is absent from the scored records: it was imputed for all {n} records, so their segments rest on the other fields.",
        "warn_scoring_all_null": "Field {field} is null in all {n} scored records: it was imputed for every one of them, so their segments rest on the other fields.",
        "warn_scoring_missing": "Field {field} is missing in {n} of {total} scored records; it was imputed for them.",
        "warn_csv_decimal": "The CSV file was read with {delimiter!r} between fields and {decimal!r} as the decimal mark ({how}).",
        "csv_decimal_detected": "detected from the file; use --decimal to change it",
        "csv_decimal_given": "as given by --decimal",
    },
    "es": {
        "option_roles_object": "roles debe ser un objeto que asigne roles a nombres de campo.",
        "option_role_choice": "El rol de {name!r} debe ser uno de: {choices}.",
        "role_unknown_field": "Ningún registro tiene el campo {name!r}.",
        "role_wrong_kind": "El campo {name!r} es {kind} y no puede tener el rol {role}.",
        "warn_scoring_absent": "El campo {field} no está en los registros puntuados: se imputó en los {n} registros, así que sus segmentos dependen de los demás campos.",
        "warn_scoring_all_null": "El campo {field} es nulo en los {n} registros puntuados: se imputó en todos ellos, así que sus segmentos dependen de los demás campos.",
        "warn_scoring_missing": "Al campo {field} le falta el valor en {n} de {total} registros puntuados; se imputó en ellos.",
        "warn_csv_decimal": "El archivo CSV se leyó con {delimiter!r} entre campos y {decimal!r} como separador decimal ({how}).",
        "csv_decimal_detected": "detectado en el archivo; use --decimal para cambiarlo",
        "csv_decimal_given": "según --decimal",
    },
    "pt": {
        "option_roles_object": "roles deve ser um objeto que associe nomes de campo a papéis.",
        "option_role_choice": "O papel de {name!r} deve ser um de: {choices}.",
        "role_unknown_field": "Nenhum registro tem o campo {name!r}.",
        "role_wrong_kind": "O campo {name!r} é {kind} e não pode ter o papel {role}.",
        "warn_scoring_absent": "O campo {field} não está nos registros pontuados: foi imputado nos {n} registros, então os segmentos deles dependem dos outros campos.",
        "warn_scoring_all_null": "O campo {field} é nulo em todos os {n} registros pontuados: foi imputado em todos, então os segmentos deles dependem dos outros campos.",
        "warn_scoring_missing": "O campo {field} está ausente em {n} de {total} registros pontuados; foi imputado neles.",
        "warn_csv_decimal": "O arquivo CSV foi lido com {delimiter!r} entre os campos e {decimal!r} como separador decimal ({how}).",
        "csv_decimal_detected": "detectado no arquivo; use --decimal para mudar",
        "csv_decimal_given": "conforme --decimal",
    },
}
for _lang, _msgs in _ROLE_SCORING_CSV_MESSAGES.items():
    ERROR_MESSAGES[_lang].update(_msgs)

KIND_NAMES = {
    "en": {"list": "an array", "dict": "an object"},
    "es": {"list": "un arreglo", "dict": "un objeto"},
    "pt": {"list": "um array", "dict": "um objeto"},
}
# The same names as catalogue keys, for Msg("kind_list") parameters (segengine.table).
for _lang, _kinds in KIND_NAMES.items():
    ERROR_MESSAGES[_lang].update({f"kind_{kind}": name for kind, name in _kinds.items()})


def error_text(language: str, key: str, **values: object) -> str:
    """Return the localized error sentence ``key`` filled with ``values``.

    Parameters
    ----------
    language : str
        A normalised language code ("en", "es" or "pt"); anything else falls back to English.
    key : str
        The catalogue key.
    **values
        Placeholders of the template.

    Returns
    -------
    str
        The sentence.
    """
    table = ERROR_MESSAGES.get(language, ERROR_MESSAGES["en"])
    return table[key].format(**values)


# Record files that cannot be read (segengine.readers): their own catalogue module.
from segengine.text.file_messages import FILE_MESSAGES as _FILE_MESSAGES  # noqa: E402

for _lang, _table in _FILE_MESSAGES.items():
    ERROR_MESSAGES[_lang].update(_table)

# The HTTP service's own errors (segengine.service.messages): their own catalogue module.
from segengine.text.service_messages import SERVICE_MESSAGES as _SERVICE_MESSAGES  # noqa: E402

for _lang, _table in _SERVICE_MESSAGES.items():
    ERROR_MESSAGES[_lang].update(_table)

# Bounded work and unformed segments (segengine.budget, segmenter): their own catalogue module.
from segengine.text.budget_messages import BUDGET_MESSAGES as _BUDGET_MESSAGES  # noqa: E402 - beside its merge, as above

for _lang, _table in _BUDGET_MESSAGES.items():
    ERROR_MESSAGES[_lang].update(_table)

# The estimator's fit arguments (record weights): their own catalogue module.
from segengine.text.estimator_messages import ESTIMATOR_MESSAGES as _ESTIMATOR_MESSAGES  # noqa: E402 - beside its merge

for _lang, _table in _ESTIMATOR_MESSAGES.items():
    ERROR_MESSAGES[_lang].update(_table)
