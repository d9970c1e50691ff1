"""The Processing instance types the cost model knows: vCPUs, memory, price, and the baseline (not burst)
bandwidths that bound a group step's download and reads. Each column's source is below the table; every type
is in botocore's ProcessingInstanceType enum (tests/pipeline/test_plan.py checks it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cost_figures import DOCUMENTED, ESTIMATE, PRICE_REGION


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    dollars_per_hour: float  # on demand, PRICE_REGION, SageMaker Processing
    network_gbps: float  # baseline, Gbit/s
    ebs_mb_per_second: float  # baseline EBS throughput, MB/s (10^6 bytes), 128 KiB I/O
    ebs_iops: int  # baseline EBS IOPS, 16 KiB I/O
    cpu_baseline: float = 1.0  # the share of each vCPU a burstable type sustains

    @property
    def network_bytes_per_second(self) -> float:
        return self.network_gbps * 1e9 / 8

    @property
    def ebs_bytes_per_second(self) -> float:
        return self.ebs_mb_per_second * 1e6

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vcpus": self.vcpus,
            "memory_gib": self.memory_gib,
            "usd_per_hour": self.dollars_per_hour,
            "network_baseline_gbps": self.network_gbps,
            "ebs_baseline_mb_per_second": self.ebs_mb_per_second,
            "ebs_baseline_iops": self.ebs_iops,
            "cpu_baseline": self.cpu_baseline,
        }


INSTANCE_TYPES: dict[str, InstanceType] = {
    t.name: t
    for t in (
        InstanceType("ml.t3.medium", 2, 4, 0.05, 0.256, 43.43, 2_000, cpu_baseline=0.20),
        InstanceType("ml.m5.large", 2, 8, 0.115, 0.75, 81.25, 3_600),
        InstanceType("ml.m5.xlarge", 4, 16, 0.23, 1.25, 143.75, 6_000),
        InstanceType("ml.m5.2xlarge", 8, 32, 0.461, 2.5, 287.5, 12_000),
        InstanceType("ml.m5.4xlarge", 16, 64, 0.922, 5.0, 593.75, 18_750),
        InstanceType("ml.c5.xlarge", 4, 8, 0.204, 1.25, 143.75, 6_000),
        InstanceType("ml.c5.2xlarge", 8, 16, 0.408, 2.5, 287.5, 10_000),
        InstanceType("ml.c5.4xlarge", 16, 32, 0.816, 5.0, 593.75, 20_000),
        InstanceType("ml.c5.9xlarge", 36, 72, 1.836, 12.0, 1187.5, 40_000),
        InstanceType("ml.r5.large", 2, 16, 0.151, 0.75, 81.25, 3_600),
        InstanceType("ml.r5.xlarge", 4, 32, 0.302, 1.25, 143.75, 6_000),
        InstanceType("ml.r5.2xlarge", 8, 64, 0.605, 2.5, 287.5, 12_000),
        InstanceType("ml.r5.4xlarge", 16, 128, 1.21, 5.0, 593.75, 18_750),
    )
}

SOURCES: dict[str, dict[str, str]] = {
    "vcpus, memory_gib": {
        "label": DOCUMENTED,
        "source": 'Amazon EC2 Instance Types guide, "Specifications for Amazon EC2 general purpose / '
        'compute optimized / memory optimized instances" '
        "(https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, co.html, mo.html): performance "
        "specifications; a SageMaker ml.X type is the EC2 type X",
    },
    "network_baseline_gbps": {
        "label": DOCUMENTED,
        "source": 'the same pages, network specifications, baseline of "Baseline / Burst bandwidth (Gbps)" '
        '(m5, c5, r5; c5.9xlarge has a fixed 12 Gbit); t3.medium: ElastiCache User Guide, "Supported node '
        'types" (cache.t3.medium, baseline 0.256 Gbps, burst 5). Sizes up to 4xlarge burst above it only '
        "while their network I/O credits last, not for a download of hours",
    },
    "ebs_baseline_mb_per_second, ebs_baseline_iops": {
        "label": DOCUMENTED,
        "source": 'Amazon EC2 User Guide, "Amazon EBS-optimized instances" '
        "(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html; "
        "awsdocs/amazon-ec2-user-guide doc_source/ebs-optimized.md): baseline throughput (MB/s, 128 KiB "
        "I/O) and IOPS (16 KiB I/O) of the types that burst for 30 minutes a day (large to 2xlarge, t3), "
        "the maximum of the others (4xlarge and larger sustain it)",
    },
    "cpu_baseline": {
        "label": DOCUMENTED,
        "source": "t3.medium sustains 20 % of each vCPU without CPU credits (Amazon EC2 User Guide, "
        '"Key concepts and definitions for burstable performance instances", '
        'doc_source/burstable-credits-baseline-concepts.md; also ElastiCache\'s "Supported node types"); '
        "above it, T3 instances spend credits, or in unlimited mode are billed extra; the other types are "
        "not burstable (1.0)",
    },
    "usd_per_hour": {
        "label": ESTIMATE,
        "source": f"{PRICE_REGION} on-demand prices of SageMaker Processing instances. SageMaker's pricing "
        "page (https://aws.amazon.com/sagemaker/pricing/) renders its prices by script, so no stored copy of "
        "it holds them; these are the prices public code quotes from the AWS Price List API (for example "
        "usage type USE1-Processing:ml.m5.xlarge at $0.2300 an hour), the same across independent sources, "
        "and in the ratio of AWS's sample bill for EU Ireland (Processing ml.m5.xlarge $0.257 an hour). "
        "Check yours in the AWS Pricing Calculator",
    },
}


def instance_type(name: str) -> InstanceType:
    """The type ``name``; KeyError when the model has no figures for it."""
    return INSTANCE_TYPES[name]
