"""opiaxis: an open, mechanistic model of the opioid–neuroimmune–endocrine–gut system as
virtual patients."""

__version__ = "0.1.0"
