"""Event reasons, condition types and reasons the scheduler writes (Kubernetes' spellings)."""

# Events
SCHEDULED = "Scheduled"                   # Normal, on the pod: "Successfully assigned ns/pod to node"
FAILED_SCHEDULING = "FailedScheduling"    # Warning, on the pod: the FitError message
PREEMPTED = "Preempted"                   # Normal, on the victim: "Preempted by pod <uid> on node <node>"

# Pod condition PodScheduled
POD_SCHEDULED = "PodScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"
REASON_SCHEDULER_ERROR = "SchedulerError"

# Pod condition DisruptionTarget, set on preemption victims before they are deleted
DISRUPTION_TARGET = "DisruptionTarget"
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"

DEFAULT_SCHEDULER_NAME = "default-scheduler"
