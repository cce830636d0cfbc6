"""Model packages: flavors, signatures, safe save and load, evaluation."""
