"""The distributed-training entry point (torchrun) and the Kubeflow Trainer TrainJob builder."""
