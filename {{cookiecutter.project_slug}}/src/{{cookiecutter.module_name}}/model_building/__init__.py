"""Model building: train the scikit-learn pipeline, here or on an Azure ML cluster."""
