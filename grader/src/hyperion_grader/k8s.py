"""A Kubernetes Indexed Job that grades a class across machines: one hand-in per completion index.

    python -m hyperion_grader k8s-manifest --level 3 --count 120 --image registry/hyperion-grader:1 > job.json
    kubectl apply -f job.json      # JSON is YAML: kubectl reads it as it is

Every pod mounts the hand-ins (read-only) and a results volume, and runs
``python -m hyperion_grader grade-index``: the hand-in at its ``JOB_COMPLETION_INDEX`` in sorted
order, graded exactly as ``batch`` grades it, into ``/results/<name>/results.json``. A failed
index is retried on its own (``backoffLimitPerIndex``); level 3 pods ask for one GPU. The
manifest is generated, never applied, here.
"""

from __future__ import annotations

from typing import Any


def job_manifest(level: int, count: int, image: str, parallelism: int = 10, submissions_claim: str = "hand-ins",
                 results_claim: str = "grades", retries_per_index: int = 2, cpu: str = "2",
                 memory: str = "8Gi", deadline_s: int = 7200) -> dict[str, Any]:
    """The Job as a plain dict (the shape of ``kubernetes.client.V1Job``)."""
    if count < 1:
        raise ValueError(f"--count must be at least 1, got {count}")
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}
    if level == 3:
        resources["limits"]["nvidia.com/gpu"] = "1"  # quantities are strings
    container = {
        "name": "grader",
        "image": image,
        "command": ["python", "-m", "hyperion_grader", "grade-index", "--level", str(level),
                    "--submissions", "/hand-ins", "--out", "/results"],
        "resources": resources,
        "securityContext": {"allowPrivilegeEscalation": False},
        "volumeMounts": [{"name": "hand-ins", "mountPath": "/hand-ins", "readOnly": True},
                         {"name": "results", "mountPath": "/results"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"hyperion-grade-level{level}", "labels": {"app": "hyperion-grader"}},
        "spec": {
            "completionMode": "Indexed",
            "completions": count,
            "parallelism": min(parallelism, count),
            "backoffLimitPerIndex": retries_per_index,
            "maxFailedIndexes": count,
            "activeDeadlineSeconds": deadline_s,
            "template": {
                "metadata": {"labels": {"app": "hyperion-grader"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": [
                        {"name": "hand-ins", "persistentVolumeClaim": {"claimName": submissions_claim,
                                                                        "readOnly": True}},
                        {"name": "results", "persistentVolumeClaim": {"claimName": results_claim}},
                    ],
                },
            },
        },
    }
