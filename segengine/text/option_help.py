"""One sentence per segmentation option (en, es, pt).

They are the help of ``--options``, the OpenAPI descriptions and the option table's documentation
(:data:`segengine.options.OPTIONS`).

Merged into :data:`segengine.text.catalog.MESSAGES` under ``opt.`` keys.
"""

from __future__ import annotations

__all__ = ["OPTION_HELP"]

OPTION_HELP: dict[str, dict[str, str]] = {
    "en": {
        "opt.n_clusters": "Fixed number of segments, or \"auto\" to choose it by silhouette between k_min and k_max.",
        "opt.k_min": "Smallest number of segments tried when n_clusters is \"auto\".",
        "opt.k_max": "Largest number of segments tried when n_clusters is \"auto\" (capped at the number of records minus one).",
        "opt.algorithm": "\"kmeans\", \"gmm\" (Gaussian mixture), or \"auto\" to choose between them by BIC.",
        "opt.covariance_type": "Covariance of the Gaussian mixture.",
        "opt.features": "Fields to segment on (default: every eligible field).",
        "opt.exclude": "Fields to leave out.",
        "opt.id_field": "The field holding each record's id (when no record has it, the position is used).",
        "opt.scaling": "How numeric fields are scaled before segmenting (\"auto\" chooses per field).",
        "opt.max_categories": "Text fields with more distinct values are left out of segmenting.",
        "opt.random_state": "Seed: the same records, options and seed give the same report.",
        "opt.silhouette": "How each number of segments is scored: \"exact\", \"sampled\", or \"auto\" (exact while it is cheap).",
        "opt.max_records": "Largest number of records accepted.",
        "opt.time_budget_ms": "Time budget of the whole report in milliseconds; estimates degrade to meet it, as the warnings say.",
        "opt.n_init": "Restarts of KMeans for every number of segments, or \"auto\" (more restarts for small inputs).",
        "opt.roles": "Business role of fields (recency, frequency, monetary, tenure, channel, none); others are guessed from their names.",
        "opt.naming": "\"archetype\" names segments like an RFM analysis where the numbers support it; \"generic\" after their characteristics.",
    },
    "es": {
        "opt.n_clusters": "Número fijo de segmentos, o \"auto\" para elegirlo por silueta entre k_min y k_max.",
        "opt.k_min": "Menor número de segmentos probado cuando n_clusters es \"auto\".",
        "opt.k_max": "Mayor número de segmentos probado cuando n_clusters es \"auto\" (como máximo, el número de registros menos uno).",
        "opt.algorithm": "\"kmeans\", \"gmm\" (mezcla gaussiana) o \"auto\" para elegir entre ambos por BIC.",
        "opt.covariance_type": "Covarianza de la mezcla gaussiana.",
        "opt.features": "Campos con los que segmentar (por defecto: todos los campos aptos).",
        "opt.exclude": "Campos que se dejan fuera.",
        "opt.id_field": "El campo con el id de cada registro (si ningún registro lo tiene, se usa la posición).",
        "opt.scaling": "Cómo se escalan los campos numéricos antes de segmentar (\"auto\" elige por campo).",
        "opt.max_categories": "Los campos de texto con más valores distintos se dejan fuera de la segmentación.",
        "opt.random_state": "Semilla: los mismos registros, opciones y semilla dan el mismo informe.",
        "opt.silhouette": "Cómo se puntúa cada número de segmentos: \"exact\", \"sampled\" o \"auto\" (exacta mientras sea barata).",
        "opt.max_records": "Mayor número de registros aceptado.",
        "opt.time_budget_ms": "Tiempo disponible para todo el informe en milisegundos; las estimaciones se degradan para cumplirlo, como dicen las advertencias.",
        "opt.n_init": "Reinicios de KMeans para cada número de segmentos, o \"auto\" (más reinicios con pocos datos).",
        "opt.roles": "Rol de negocio de los campos (recency, frequency, monetary, tenure, channel, none); el de los demás se deduce de su nombre.",
        "opt.naming": "\"archetype\" nombra los segmentos como un análisis RFM cuando los números lo respaldan; \"generic\", por sus características.",
    },
    "pt": {
        "opt.n_clusters": "Número fixo de segmentos, ou \"auto\" para escolhê-lo pela silhueta entre k_min e k_max.",
        "opt.k_min": "Menor número de segmentos testado quando n_clusters é \"auto\".",
        "opt.k_max": "Maior número de segmentos testado quando n_clusters é \"auto\" (no máximo, o número de registros menos um).",
        "opt.algorithm": "\"kmeans\", \"gmm\" (mistura gaussiana) ou \"auto\" para escolher entre eles pelo BIC.",
        "opt.covariance_type": "Covariância da mistura gaussiana.",
        "opt.features": "Campos usados na segmentação (padrão: todos os campos elegíveis).",
        "opt.exclude": "Campos deixados de fora.",
        "opt.id_field": "O campo com o id de cada registro (se nenhum registro o tiver, usa-se a posição).",
        "opt.scaling": "Como os campos numéricos são escalados antes da segmentação (\"auto\" escolhe por campo).",
        "opt.max_categories": "Campos de texto com mais valores distintos ficam fora da segmentação.",
        "opt.random_state": "Semente: os mesmos registros, opções e semente dão o mesmo relatório.",
        "opt.silhouette": "Como cada número de segmentos é pontuado: \"exact\", \"sampled\" ou \"auto\" (exata enquanto for barata).",
        "opt.max_records": "Maior número de registros aceito.",
        "opt.time_budget_ms": "Tempo disponível para todo o relatório em milissegundos; as estimativas se degradam para cumpri-lo, como dizem os avisos.",
        "opt.n_init": "Reinícios do KMeans para cada número de segmentos, ou \"auto\" (mais reinícios com poucos dados).",
        "opt.roles": "Papel de negócio dos campos (recency, frequency, monetary, tenure, channel, none); o dos demais é deduzido do nome.",
        "opt.naming": "\"archetype\" nomeia os segmentos como uma análise RFM quando os números sustentam; \"generic\", pelas suas características.",
    },
}
