"""core/v1: Volume and its sources and projections, and PersistentVolumeClaim (reached through
StatefulSet claim templates and ephemeral volumes).
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, INT32, INT64, QUANTITY, STRING, TIME, define, type_meta_fields

from . import core_v1  # noqa: F401  (defines LocalObjectReference, embedded here)
from .common import CORE, META, define_embedding


define(CORE + "VolumeSource", [
    F(1, "hostPath", CORE + "HostPathVolumeSource"),
    F(2, "emptyDir", CORE + "EmptyDirVolumeSource"),
    F(3, "gcePersistentDisk", CORE + "GCEPersistentDiskVolumeSource"),
    F(4, "awsElasticBlockStore", CORE + "AWSElasticBlockStoreVolumeSource"),
    F(5, "gitRepo", CORE + "GitRepoVolumeSource"),
    F(6, "secret", CORE + "SecretVolumeSource"),
    F(7, "nfs", CORE + "NFSVolumeSource"),
    F(8, "iscsi", CORE + "ISCSIVolumeSource"),
    F(9, "glusterfs", CORE + "GlusterfsVolumeSource"),
    F(10, "persistentVolumeClaim", CORE + "PersistentVolumeClaimVolumeSource"),
    F(11, "rbd", CORE + "RBDVolumeSource"),
    F(12, "flexVolume", CORE + "FlexVolumeSource"),
    F(13, "cinder", CORE + "CinderVolumeSource"),
    F(14, "cephfs", CORE + "CephFSVolumeSource"),
    F(15, "flocker", CORE + "FlockerVolumeSource"),
    F(16, "downwardAPI", CORE + "DownwardAPIVolumeSource"),
    F(17, "fc", CORE + "FCVolumeSource"),
    F(18, "azureFile", CORE + "AzureFileVolumeSource"),
    F(19, "configMap", CORE + "ConfigMapVolumeSource"),
    F(20, "vsphereVolume", CORE + "VsphereVirtualDiskVolumeSource"),
    F(21, "quobyte", CORE + "QuobyteVolumeSource"),
    F(22, "azureDisk", CORE + "AzureDiskVolumeSource"),
    F(23, "photonPersistentDisk", CORE + "PhotonPersistentDiskVolumeSource"),
    F(24, "portworxVolume", CORE + "PortworxVolumeSource"),
    F(25, "scaleIO", CORE + "ScaleIOVolumeSource"),
    F(26, "projected", CORE + "ProjectedVolumeSource"),
    F(27, "storageos", CORE + "StorageOSVolumeSource"),
    F(28, "csi", CORE + "CSIVolumeSource"),
    F(29, "ephemeral", CORE + "EphemeralVolumeSource"),
    F(30, "image", CORE + "ImageVolumeSource"),
])

define(CORE + "AWSElasticBlockStoreVolumeSource", [
    F(1, "volumeID", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "partition", INT32),
    F(4, "readOnly", BOOL),
])

define(CORE + "AzureDiskVolumeSource", [
    F(1, "diskName", STRING, required=True),
    F(2, "diskURI", STRING, required=True),
    F(3, "cachingMode", STRING),
    F(4, "fsType", STRING),
    F(5, "readOnly", BOOL),
    F(6, "kind", STRING),
])

define(CORE + "AzureFileVolumeSource", [
    F(1, "secretName", STRING, required=True),
    F(2, "shareName", STRING, required=True),
    F(3, "readOnly", BOOL),
])

define(CORE + "CSIVolumeSource", [
    F(1, "driver", STRING, required=True),
    F(2, "readOnly", BOOL),
    F(3, "fsType", STRING),
    F(4, "volumeAttributes", STRING, map=True),
    F(5, "nodePublishSecretRef", CORE + "LocalObjectReference"),
])

define(CORE + "CephFSVolumeSource", [
    F(1, "monitors", STRING, repeated=True, required=True, list_type="atomic"),
    F(2, "path", STRING),
    F(3, "user", STRING),
    F(4, "secretFile", STRING),
    F(5, "secretRef", CORE + "LocalObjectReference"),
    F(6, "readOnly", BOOL),
])

define(CORE + "CinderVolumeSource", [
    F(1, "volumeID", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "readOnly", BOOL),
    F(4, "secretRef", CORE + "LocalObjectReference"),
])

define(CORE + "ClusterTrustBundleProjection", [
    F(1, "name", STRING),
    F(2, "signerName", STRING),
    F(3, "labelSelector", META + "LabelSelector"),
    F(4, "path", STRING, required=True),
    F(5, "optional", BOOL),
])

define_embedding(CORE + "ConfigMapProjection", [
    F(2, "items", CORE + "KeyToPath", repeated=True, list_type="atomic"),
    F(4, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),))

define_embedding(CORE + "ConfigMapVolumeSource", [
    F(2, "items", CORE + "KeyToPath", repeated=True, list_type="atomic"),
    F(3, "defaultMode", INT32),
    F(4, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),))

define(CORE + "DownwardAPIProjection", [
    F(1, "items", CORE + "DownwardAPIVolumeFile", repeated=True, list_type="atomic"),
])

define(CORE + "DownwardAPIVolumeFile", [
    F(1, "path", STRING, required=True),
    F(2, "fieldRef", CORE + "ObjectFieldSelector"),
    F(3, "resourceFieldRef", CORE + "ResourceFieldSelector"),
    F(4, "mode", INT32),
])

define(CORE + "DownwardAPIVolumeSource", [
    F(1, "items", CORE + "DownwardAPIVolumeFile", repeated=True, list_type="atomic"),
    F(2, "defaultMode", INT32),
])

define(CORE + "EmptyDirVolumeSource", [
    F(1, "medium", STRING),
    F(2, "sizeLimit", QUANTITY),
])

define(CORE + "EphemeralVolumeSource", [
    F(1, "volumeClaimTemplate", CORE + "PersistentVolumeClaimTemplate"),
])

define(CORE + "FCVolumeSource", [
    F(1, "targetWWNs", STRING, repeated=True, list_type="atomic"),
    F(2, "lun", INT32),
    F(3, "fsType", STRING),
    F(4, "readOnly", BOOL),
    F(5, "wwids", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "FlexVolumeSource", [
    F(1, "driver", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "secretRef", CORE + "LocalObjectReference"),
    F(4, "readOnly", BOOL),
    F(5, "options", STRING, map=True),
])

define(CORE + "FlockerVolumeSource", [
    F(1, "datasetName", STRING),
    F(2, "datasetUUID", STRING),
])

define(CORE + "GCEPersistentDiskVolumeSource", [
    F(1, "pdName", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "partition", INT32),
    F(4, "readOnly", BOOL),
])

define(CORE + "GitRepoVolumeSource", [
    F(1, "repository", STRING, required=True),
    F(2, "revision", STRING),
    F(3, "directory", STRING),
])

define(CORE + "GlusterfsVolumeSource", [
    F(1, "endpoints", STRING, required=True),
    F(2, "path", STRING, required=True),
    F(3, "readOnly", BOOL),
])

define(CORE + "HostPathVolumeSource", [
    F(1, "path", STRING, required=True),
    F(2, "type", STRING),
])

define(CORE + "ISCSIVolumeSource", [
    F(1, "targetPortal", STRING, required=True),
    F(2, "iqn", STRING, required=True),
    F(3, "lun", INT32, required=True),
    F(4, "iscsiInterface", STRING),
    F(5, "fsType", STRING),
    F(6, "readOnly", BOOL),
    F(7, "portals", STRING, repeated=True, list_type="atomic"),
    F(8, "chapAuthDiscovery", BOOL),
    F(10, "secretRef", CORE + "LocalObjectReference"),
    F(11, "chapAuthSession", BOOL),
    F(12, "initiatorName", STRING),
])

define(CORE + "ImageVolumeSource", [
    F(1, "reference", STRING),
    F(2, "pullPolicy", STRING, enum=("Always", "IfNotPresent", "Never")),
])

define(CORE + "KeyToPath", [
    F(1, "key", STRING, required=True),
    F(2, "path", STRING, required=True),
    F(3, "mode", INT32),
])

define(CORE + "ModifyVolumeStatus", [
    F(1, "targetVolumeAttributesClassName", STRING),
    F(2, "status", STRING, required=True),
])

define(CORE + "NFSVolumeSource", [
    F(1, "server", STRING, required=True),
    F(2, "path", STRING, required=True),
    F(3, "readOnly", BOOL),
])

define(CORE + "PersistentVolumeClaim", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "PersistentVolumeClaimSpec"),
    F(3, "status", CORE + "PersistentVolumeClaimStatus"),
])

define(CORE + "PersistentVolumeClaimCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastProbeTime", TIME),
    F(4, "lastTransitionTime", TIME),
    F(5, "reason", STRING),
    F(6, "message", STRING),
])

define(CORE + "PersistentVolumeClaimSpec", [
    F(1, "accessModes", STRING, repeated=True, list_type="atomic"),
    F(2, "resources", CORE + "VolumeResourceRequirements"),
    F(3, "volumeName", STRING),
    F(4, "selector", META + "LabelSelector"),
    F(5, "storageClassName", STRING),
    F(6, "volumeMode", STRING),
    F(7, "dataSource", CORE + "TypedLocalObjectReference"),
    F(8, "dataSourceRef", CORE + "TypedObjectReference"),
    F(9, "volumeAttributesClassName", STRING),
])

define(CORE + "PersistentVolumeClaimStatus", [
    F(1, "phase", STRING),
    F(2, "accessModes", STRING, repeated=True, list_type="atomic"),
    F(3, "capacity", QUANTITY, map=True),
    F(4, "conditions", CORE + "PersistentVolumeClaimCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(5, "allocatedResources", QUANTITY, map=True),
    F(7, "allocatedResourceStatuses", STRING, map=True, map_type="granular"),
    F(8, "currentVolumeAttributesClassName", STRING),
    F(9, "modifyVolumeStatus", CORE + "ModifyVolumeStatus"),
])

define(CORE + "PersistentVolumeClaimTemplate", [
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "PersistentVolumeClaimSpec", required=True),
])

define(CORE + "PersistentVolumeClaimVolumeSource", [
    F(1, "claimName", STRING, required=True),
    F(2, "readOnly", BOOL),
])

define(CORE + "PhotonPersistentDiskVolumeSource", [
    F(1, "pdID", STRING, required=True),
    F(2, "fsType", STRING),
])

define(CORE + "PortworxVolumeSource", [
    F(1, "volumeID", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "readOnly", BOOL),
])

define(CORE + "ProjectedVolumeSource", [
    F(1, "sources", CORE + "VolumeProjection", repeated=True, list_type="atomic"),
    F(2, "defaultMode", INT32),
])

define(CORE + "QuobyteVolumeSource", [
    F(1, "registry", STRING, required=True),
    F(2, "volume", STRING, required=True),
    F(3, "readOnly", BOOL),
    F(4, "user", STRING),
    F(5, "group", STRING),
    F(6, "tenant", STRING),
])

define(CORE + "RBDVolumeSource", [
    F(1, "monitors", STRING, repeated=True, required=True, list_type="atomic"),
    F(2, "image", STRING, required=True),
    F(3, "fsType", STRING),
    F(4, "pool", STRING),
    F(5, "user", STRING),
    F(6, "keyring", STRING),
    F(7, "secretRef", CORE + "LocalObjectReference"),
    F(8, "readOnly", BOOL),
])

define(CORE + "ScaleIOVolumeSource", [
    F(1, "gateway", STRING, required=True),
    F(2, "system", STRING, required=True),
    F(3, "secretRef", CORE + "LocalObjectReference", required=True),
    F(4, "sslEnabled", BOOL),
    F(5, "protectionDomain", STRING),
    F(6, "storagePool", STRING),
    F(7, "storageMode", STRING),
    F(8, "volumeName", STRING),
    F(9, "fsType", STRING),
    F(10, "readOnly", BOOL),
])

define_embedding(CORE + "SecretProjection", [
    F(2, "items", CORE + "KeyToPath", repeated=True, list_type="atomic"),
    F(4, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),))

define(CORE + "SecretVolumeSource", [
    F(1, "secretName", STRING),
    F(2, "items", CORE + "KeyToPath", repeated=True, list_type="atomic"),
    F(3, "defaultMode", INT32),
    F(4, "optional", BOOL),
])

define(CORE + "ServiceAccountTokenProjection", [
    F(1, "audience", STRING),
    F(2, "expirationSeconds", INT64),
    F(3, "path", STRING, required=True),
])

define(CORE + "StorageOSVolumeSource", [
    F(1, "volumeName", STRING),
    F(2, "volumeNamespace", STRING),
    F(3, "fsType", STRING),
    F(4, "readOnly", BOOL),
    F(5, "secretRef", CORE + "LocalObjectReference"),
])

define(CORE + "TypedObjectReference", [
    F(1, "apiGroup", STRING),
    F(2, "kind", STRING, required=True),
    F(3, "name", STRING, required=True),
    F(4, "namespace", STRING),
])

define_embedding(CORE + "Volume", [
    F(1, "name", STRING, required=True),
], embedded=((2, CORE + "VolumeSource"),))

define(CORE + "VolumeProjection", [
    F(1, "secret", CORE + "SecretProjection"),
    F(2, "downwardAPI", CORE + "DownwardAPIProjection"),
    F(3, "configMap", CORE + "ConfigMapProjection"),
    F(4, "serviceAccountToken", CORE + "ServiceAccountTokenProjection"),
    F(5, "clusterTrustBundle", CORE + "ClusterTrustBundleProjection"),
])

define(CORE + "VolumeResourceRequirements", [
    F(1, "limits", QUANTITY, map=True),
    F(2, "requests", QUANTITY, map=True),
])

define(CORE + "VsphereVirtualDiskVolumeSource", [
    F(1, "volumePath", STRING, required=True),
    F(2, "fsType", STRING),
    F(3, "storagePolicyName", STRING),
    F(4, "storagePolicyID", STRING),
])
