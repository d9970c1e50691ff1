"""The SDK side: builds, deploys and operates the pipeline, and runs it locally. It never reads waveforms."""
