"""Data for fit/evaluate/predict: adapters over arrays, generators and datasets."""
