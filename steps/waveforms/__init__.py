"""The small pure library the step scripts share: WFDB headers, signal decoding, exact statistics."""
