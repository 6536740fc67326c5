"""Feature extraction shared by careloop's evaluations and models.

* :mod:`models.features.icu` - per-stay vital-sign features of the first 48 h of an ICU stay.
* :mod:`models.features.icu_clinical` - the same stays' labs, urine, oxygen, ventilation and
  descriptors (for the "all inputs" model only).
"""
