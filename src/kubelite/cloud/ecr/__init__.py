"""ECR for the managed service: the API (`service`), repositories and who may use them
(`repositories`), authorization tokens (`tokens`), and the one registry that holds every
account's images and answers for `<account>.dkr.ecr.<region>.amazonaws.com` (`registry`, a
`kubelite.images.registry` behind ECR's authentication and namespacing).

May import: `kubelite.images.registry`, `kubelite.client.pki`, and the rest of `kubelite.cloud`.
"""
