"""Everything a reader sees: message catalogues (en, es, pt), names, characteristics, insights."""
