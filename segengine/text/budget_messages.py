"""Sentences of bounded work and of segments that could not be formed (en, es, pt).

Merged into :data:`segengine.text.error_messages.ERROR_MESSAGES` (same keys in every language,
same placeholders); kept apart so the budget's wording lives next to nothing else.
"""

from __future__ import annotations

BUDGET_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "warn_n_init_work": "n_init was lowered to {r} to bound the work of the k search ({n} records x {d} columns).",
        "warn_budget": "To respect the time budget of {ms} ms, {how}.",
        "budget_repair_skipped": "the extra KMeans restarts of poorly fitted k were skipped",
        "budget_stability_skipped": "the bootstrap stability of the segments was not computed",
        "budget_search_sampled": "the silhouettes of the k search were estimated on a sample instead of exactly",
        "budget_refine_cut": "the refinement of the segments on all records stopped early",
        "budget_gmm_cut": "the Gaussian mixture stopped before converging",
        "budget_gmm_skipped": "the Gaussian mixture was not fitted and KMeans was used",
        "budget_report_sampled": "the silhouettes of the report were estimated on a sample instead of exactly",
        "warn_k_max_work": "k_max was lowered to {k} to bound the work of the k search ({n} records x {d} columns).",
        "k_over_work_cap": "{name} ({k}) is more segments than one report can fit and profile for {n} records x {d} columns and {f} fields; at most {cap}.",
        "warn_gmm_empty": "The Gaussian mixture left {e} of the {k} segments without records; KMeans was used.",
        "warn_segments_reduced": "Only {m} of the {k} segments received records ({how}); the report has {m} segments.",
        "reduced_overflow": "the values are too large for squared distances in double precision: scale the fields",
        "reduced_degenerate": "the records are too close together to be told apart in double precision",
        "one_segment_only": "The records cannot be split into two segments ({how}).",
    },
    "es": {
        "warn_n_init_work": "n_init se redujo a {r} para acotar el trabajo de la búsqueda de k ({n} registros x {d} columnas).",
        "warn_budget": "Para respetar el presupuesto de tiempo de {ms} ms, {how}.",
        "budget_repair_skipped": "se omitieron los reinicios adicionales de KMeans para los k mal ajustados",
        "budget_stability_skipped": "no se calculó la estabilidad por remuestreo de los segmentos",
        "budget_search_sampled": "las siluetas de la búsqueda de k se estimaron con una muestra en lugar de calcularse exactamente",
        "budget_refine_cut": "el refinamiento de los segmentos con todos los registros se detuvo antes",
        "budget_gmm_cut": "la mezcla gaussiana se detuvo antes de converger",
        "budget_gmm_skipped": "no se ajustó la mezcla gaussiana y se usó KMeans",
        "budget_report_sampled": "las siluetas del informe se estimaron con una muestra en lugar de calcularse exactamente",
        "warn_k_max_work": "k_max se redujo a {k} para acotar el trabajo de la búsqueda de k ({n} registros x {d} columnas).",
        "k_over_work_cap": "{name} ({k}) son más segmentos de los que un informe puede ajustar y perfilar para {n} registros x {d} columnas y {f} campos; como máximo {cap}.",
        "warn_gmm_empty": "La mezcla gaussiana dejó {e} de los {k} segmentos sin registros; se usó KMeans.",
        "warn_segments_reduced": "Solo {m} de los {k} segmentos recibieron registros ({how}); el informe tiene {m} segmentos.",
        "reduced_overflow": "los valores son demasiado grandes para las distancias al cuadrado en doble precisión: escale los campos",
        "reduced_degenerate": "los registros están demasiado próximos para distinguirlos en doble precisión",
        "one_segment_only": "Los registros no se pueden dividir en dos segmentos ({how}).",
    },
    "pt": {
        "warn_n_init_work": "n_init foi reduzido para {r} para limitar o trabalho da busca de k ({n} registros x {d} colunas).",
        "warn_budget": "Para respeitar o orçamento de tempo de {ms} ms, {how}.",
        "budget_repair_skipped": "os reinícios extras do KMeans para os k mal ajustados foram omitidos",
        "budget_stability_skipped": "a estabilidade por reamostragem dos segmentos não foi calculada",
        "budget_search_sampled": "as silhuetas da busca de k foram estimadas com uma amostra em vez de calculadas exatamente",
        "budget_refine_cut": "o refinamento dos segmentos com todos os registros parou antes",
        "budget_gmm_cut": "a mistura gaussiana parou antes de convergir",
        "budget_gmm_skipped": "a mistura gaussiana não foi ajustada e foi usado KMeans",
        "budget_report_sampled": "as silhuetas do relatório foram estimadas com uma amostra em vez de calculadas exatamente",
        "warn_k_max_work": "k_max foi reduzido para {k} para limitar o trabalho da busca de k ({n} registros x {d} colunas).",
        "k_over_work_cap": "{name} ({k}) são mais segmentos do que um relatório pode ajustar e perfilar para {n} registros x {d} colunas e {f} campos; no máximo {cap}.",
        "warn_gmm_empty": "A mistura gaussiana deixou {e} dos {k} segmentos sem registros; foi usado KMeans.",
        "warn_segments_reduced": "Apenas {m} dos {k} segmentos receberam registros ({how}); o relatório tem {m} segmentos.",
        "reduced_overflow": "os valores são grandes demais para distâncias ao quadrado em dupla precisão: escale os campos",
        "reduced_degenerate": "os registros estão próximos demais para serem distinguidos em dupla precisão",
        "one_segment_only": "Os registros não podem ser divididos em dois segmentos ({how}).",
    },
}
