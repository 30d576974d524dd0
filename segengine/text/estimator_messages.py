"""Sentences of the estimator's fit arguments: record weights (en, es, pt).

Merged into :data:`segengine.text.error_messages.ERROR_MESSAGES` like the budget sentences (same
keys in every language, same placeholders).
"""

from __future__ import annotations

ESTIMATOR_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "sample_weight_shape": "sample_weight must be a one-dimensional array of {n} numbers, one per record.",
        "sample_weight_value": "Every record weight must be a finite number >= 0.",
        "sample_weight_zero": "At least one record weight must be greater than 0.",
        "sample_weight_gmm": "The Gaussian mixture takes no record weights: use algorithm=\"kmeans\" or \"auto\" with sample_weight.",
    },
    "es": {
        "sample_weight_shape": "sample_weight debe ser un array de una dimensión con {n} números, uno por registro.",
        "sample_weight_value": "Cada peso de registro debe ser un número finito >= 0.",
        "sample_weight_zero": "Al menos un peso de registro debe ser mayor que 0.",
        "sample_weight_gmm": "La mezcla gaussiana no admite pesos de registro: use algorithm=\"kmeans\" o \"auto\" con sample_weight.",
    },
    "pt": {
        "sample_weight_shape": "sample_weight deve ser um array de uma dimensão com {n} números, um por registro.",
        "sample_weight_value": "Cada peso de registro deve ser um número finito >= 0.",
        "sample_weight_zero": "Pelo menos um peso de registro deve ser maior que 0.",
        "sample_weight_gmm": "A mistura gaussiana não aceita pesos de registro: use algorithm=\"kmeans\" ou \"auto\" com sample_weight.",
    },
}
