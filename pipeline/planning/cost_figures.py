"""The figures of the I/O and price model (``cost_model``), each with where it comes from.

Every figure carries one of three labels: measured here (with the command that measured it), documented by AWS
(the page it is on), or an estimate (with the reasoning). docs/cost-model.md explains each; ``plan --output
json`` lists them with the plan they made. The figures of each instance type are in ``instance_types``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

Label = Literal["measured here", "documented by AWS", "estimate"]
MEASURED: Final = "measured here"
DOCUMENTED: Final = "documented by AWS"
ESTIMATE: Final = "estimate"

MIB = 2**20


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    label: Label
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "label": self.label, "source": self.source}


# File mode copies the whole input onto the volume before the script starts.
FILE_MODE_BYTES_PER_SECOND = Figure(
    50e9 / 300,
    "bytes/s",
    DOCUMENTED,
    'Amazon SageMaker AI Developer Guide, "Choosing an input mode and a storage unit" '
    "(https://docs.aws.amazon.com/sagemaker/latest/dg/model-access-training-data-best-practices.html): "
    "downloading a 50 GB dataset in File mode takes about 5 minutes if it is chunked into 100 MB shards; "
    "written for training jobs, taken to hold for a Processing job's File input too, and smaller files "
    "take longer (each is downloaded on its own)",
)

# The ML storage volume is gp2 (AWS's sample bill names its usage type CreateVolume-Gp2).
GP2_MAX_BYTES_PER_SECOND = Figure(
    250 * MIB,
    "bytes/s",
    DOCUMENTED,
    'Amazon EBS User Guide, "General Purpose SSD volumes" '
    "(https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html; awsdocs/amazon-ec2-user-guide "
    "doc_source/general-purpose.md): gp2 volumes of 334 GiB and larger deliver 250 MiB/s, larger than "
    "170 GiB burst to it; the volume type of SageMaker's ML storage is named in AWS's sample bill "
    '"Amazon SageMaker CreateVolume-Gp2" (aws-samples/sagemaker-ssh-helper, Sample_Costs.md)',
)
GP2_SMALL_BYTES_PER_SECOND = Figure(
    128 * MIB,
    "bytes/s",
    DOCUMENTED,
    'Amazon EBS User Guide, "General Purpose SSD volumes": gp2 volumes of 170 GiB and smaller deliver '
    "at most 128 MiB/s",
)
GP2_SMALL_VOLUME_GB = 170  # the largest volume (GiB) held to GP2_SMALL_BYTES_PER_SECOND
GP2_IOPS_PER_GB = Figure(
    3,
    "IOPS per GiB",
    DOCUMENTED,
    'Amazon EBS User Guide, "General Purpose SSD volumes": a gp2 volume\'s baseline is 3 IOPS per GiB, at '
    "least 100 and at most 16,000; volumes under 1 TiB burst to 3,000 while their I/O credits last (about "
    "an hour and a half of a group's copy: not counted)",
)
GP2_MIN_IOPS = 100
GP2_MAX_IOPS = 16_000
SSD_IO_BYTES = Figure(
    256 * 1024,
    "bytes per I/O, at most",
    DOCUMENTED,
    'Amazon EBS User Guide, "I/O characteristics and monitoring" (awsdocs/amazon-ec2-user-guide '
    "doc_source/ebs-io-characteristics.md): I/O size is capped at 256 KiB for SSD volumes; so a file takes "
    "one I/O at least, and one more for each 256 KiB",
)

# The extract step's own speed, per vCPU, in two terms: bytes of signal, and files (headers and small
# segments cost per file, whatever their size).
EXTRACT_BYTES_PER_CORE_SECOND = Figure(
    751e6,
    "bytes/s per vCPU",
    MEASURED,
    "docs/benchmarks.md, extract step, figures of 2026-11-21: the long workload (256 MB, 8 records), ours "
    "with 2 workers, 751 MB/s per core on this machine's 2 vCPUs (AMD EPYC under KVM); "
    "command: .venv/bin/python -m scripts.bench_extract --workload long. A vCPU of a Processing instance is "
    "taken to be as fast as one here (an estimate)",
)
EXTRACT_SECONDS_PER_OBJECT = Figure(
    0.15e-3,
    "vCPU-seconds per object",
    MEASURED,
    "docs/benchmarks.md, extract step, figures of 2026-11-21: the tiny workload (3,000 records in 6,121 "
    "files, 18.17 MB; find bench-data/tiny -type f | wc -l), ours with 2 workers, 0.478 s: 0.956 "
    "vCPU-seconds, less 0.024 s for its bytes at 751 MB/s per vCPU, is 0.152 ms per file; "
    "command: .venv/bin/python -m scripts.bench_extract --workload tiny",
)

STARTUP_SECONDS = Figure(
    360,
    "s",
    ESTIMATE,
    "a Processing job's start before its input is copied: instance provisioning (typically 2-4 minutes), "
    "the scikit-learn image's pull (about a minute) and the pinned requirements installed from wheels "
    "(about a minute); not measured here (no AWS account), and counted as billed, an upper bound",
)

# Prices: us-east-1, on demand.
PRICE_REGION = "us-east-1"
VOLUME_DOLLARS_PER_GB_MONTH = Figure(
    0.14,
    "USD per GB-month",
    ESTIMATE,
    "the us-east-1 price of SageMaker ML storage (General Purpose SSD) for training and notebooks; "
    "SageMaker's pricing page renders its prices by script, so no stored copy of it holds them. AWS's "
    "sample bill (aws-samples/sagemaker-ssh-helper, Sample_Costs.md, EU Ireland, December 2023) shows "
    "Processing ML storage at $0.110 against $0.154 for training, so this is likely an upper bound",
)
HOURS_PER_MONTH = Figure(
    730,
    "hours",
    ESTIMATE,
    "the month a GB-month price is divided into, as AWS's monthly estimates count it (365 x 24 / 12); "
    "SageMaker bills instances and storage per second, so a step costs its seconds' share",
)
S3_GET_DOLLARS = Figure(
    0.0004 / 1000,
    "USD per request",
    ESTIMATE,
    "S3 Standard's price of GET requests in us-east-1, $0.0004 per 1,000; the S3 pricing page renders its "
    "prices by script, so no stored copy of it holds them; the figure is the one widely quoted. File mode "
    "downloads each object with at least one GET, on every instance of the step (large objects may take "
    "several ranged GETs: not counted)",
)
S3_LIST_DOLLARS = Figure(
    0.005 / 1000,
    "USD per request",
    ESTIMATE,
    "S3 Standard's price of LIST (and PUT) requests in us-east-1, $0.005 per 1,000 (as S3_GET_DOLLARS): "
    "what plan's own listing costs, and the inventory step's on every execution, a request a page of up "
    "to 1,000 keys; the inventory step's PUT of a changed group's manifest is priced the same",
)

# The inventory step, at the head of every execution, lists each group a page at a time.
LIST_PAGE_SECONDS = Figure(
    0.2,
    "s",
    ESTIMATE,
    "the time S3 takes to answer one ListObjectsV2 request of up to 1,000 keys (about 250 kB of XML) within "
    "its region; AWS's whitepaper 'Best Practices Design Patterns: Optimizing Amazon S3 Performance' gives "
    "a median latency of tens of milliseconds for small requests, and a page of keys is larger: not "
    "measured here (moto answers locally)",
)

FIGURES: dict[str, Figure] = {
    "file_mode_bytes_per_second": FILE_MODE_BYTES_PER_SECOND,
    "gp2_max_bytes_per_second": GP2_MAX_BYTES_PER_SECOND,
    "gp2_small_volume_bytes_per_second": GP2_SMALL_BYTES_PER_SECOND,
    "gp2_iops_per_gib": GP2_IOPS_PER_GB,
    "ssd_io_bytes": SSD_IO_BYTES,
    "extract_bytes_per_vcpu_second": EXTRACT_BYTES_PER_CORE_SECOND,
    "extract_vcpu_seconds_per_object": EXTRACT_SECONDS_PER_OBJECT,
    "startup_seconds": STARTUP_SECONDS,
    "volume_usd_per_gb_month": VOLUME_DOLLARS_PER_GB_MONTH,
    "hours_per_month": HOURS_PER_MONTH,
    "s3_get_usd_per_request": S3_GET_DOLLARS,
    "s3_list_usd_per_request": S3_LIST_DOLLARS,
    "list_page_seconds": LIST_PAGE_SECONDS,
}
