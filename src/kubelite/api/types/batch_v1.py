"""batch/v1: Job and CronJob.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, INT32, INT64, STRING, TIME, define, type_meta_fields

from .common import BATCH, CORE, META


define(BATCH + "CronJob", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", BATCH + "CronJobSpec"),
    F(3, "status", BATCH + "CronJobStatus"),
])

define(BATCH + "CronJobList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", BATCH + "CronJob", repeated=True, required=True),
])

define(BATCH + "CronJobSpec", [
    F(1, "schedule", STRING, required=True),
    F(2, "startingDeadlineSeconds", INT64),
    F(3, "concurrencyPolicy", STRING, enum=("Allow", "Forbid", "Replace")),
    F(4, "suspend", BOOL),
    F(5, "jobTemplate", BATCH + "JobTemplateSpec", required=True),
    F(6, "successfulJobsHistoryLimit", INT32),
    F(7, "failedJobsHistoryLimit", INT32),
    F(8, "timeZone", STRING),
])

define(BATCH + "CronJobStatus", [
    F(1, "active", CORE + "ObjectReference", repeated=True, list_type="atomic"),
    F(4, "lastScheduleTime", TIME),
    F(5, "lastSuccessfulTime", TIME),
])

define(BATCH + "Job", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", BATCH + "JobSpec"),
    F(3, "status", BATCH + "JobStatus"),
])

define(BATCH + "JobCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastProbeTime", TIME),
    F(4, "lastTransitionTime", TIME),
    F(5, "reason", STRING),
    F(6, "message", STRING),
])

define(BATCH + "JobList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", BATCH + "Job", repeated=True, required=True),
])

define(BATCH + "JobSpec", [
    F(1, "parallelism", INT32),
    F(2, "completions", INT32),
    F(3, "activeDeadlineSeconds", INT64),
    F(4, "selector", META + "LabelSelector"),
    F(5, "manualSelector", BOOL),
    F(6, "template", CORE + "PodTemplateSpec", required=True),
    F(7, "backoffLimit", INT32),
    F(8, "ttlSecondsAfterFinished", INT32),
    F(9, "completionMode", STRING, enum=("Indexed", "NonIndexed")),
    F(10, "suspend", BOOL),
    F(11, "podFailurePolicy", BATCH + "PodFailurePolicy"),
    F(12, "backoffLimitPerIndex", INT32),
    F(13, "maxFailedIndexes", INT32),
    F(14, "podReplacementPolicy", STRING, enum=("Failed", "TerminatingOrFailed")),
    F(15, "managedBy", STRING),
    F(16, "successPolicy", BATCH + "SuccessPolicy"),
])

define(BATCH + "JobStatus", [
    F(1, "conditions", BATCH + "JobCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="atomic"),
    F(2, "startTime", TIME),
    F(3, "completionTime", TIME),
    F(4, "active", INT32),
    F(5, "succeeded", INT32),
    F(6, "failed", INT32),
    F(7, "completedIndexes", STRING),
    F(8, "uncountedTerminatedPods", BATCH + "UncountedTerminatedPods"),
    F(9, "ready", INT32),
    F(10, "failedIndexes", STRING),
    F(11, "terminating", INT32),
])

define(BATCH + "JobTemplateSpec", [
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", BATCH + "JobSpec"),
])

define(BATCH + "PodFailurePolicy", [
    F(1, "rules", BATCH + "PodFailurePolicyRule", repeated=True, required=True, list_type="atomic"),
])

define(BATCH + "PodFailurePolicyOnExitCodesRequirement", [
    F(1, "containerName", STRING),
    F(2, "operator", STRING, required=True, enum=("In", "NotIn")),
    F(3, "values", INT32, repeated=True, required=True, list_type="set"),
])

define(BATCH + "PodFailurePolicyOnPodConditionsPattern", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
])

define(BATCH + "PodFailurePolicyRule", [
    F(1, "action", STRING, required=True, enum=("Count", "FailIndex", "FailJob", "Ignore")),
    F(2, "onExitCodes", BATCH + "PodFailurePolicyOnExitCodesRequirement"),
    F(3, "onPodConditions", BATCH + "PodFailurePolicyOnPodConditionsPattern", repeated=True, list_type="atomic"),
])

define(BATCH + "SuccessPolicy", [
    F(1, "rules", BATCH + "SuccessPolicyRule", repeated=True, required=True, list_type="atomic"),
])

define(BATCH + "SuccessPolicyRule", [
    F(1, "succeededIndexes", STRING),
    F(2, "succeededCount", INT32),
])

define(BATCH + "UncountedTerminatedPods", [
    F(1, "succeeded", STRING, repeated=True, list_type="set"),
    F(2, "failed", STRING, repeated=True, list_type="set"),
])
