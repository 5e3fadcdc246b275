"""IAM (query protocol, API 2010-05-08): the identity store every request is checked against.

- `policy`: policy documents, identity-policy evaluation and trust policies (pure).
- `managed`: the AWS managed policies the service knows.
- `store`: `IAMStore` (accounts, users, access keys, roles, policies, STS sessions) and
  `Principal` (the caller of a request).
- `service`: the IAM API operations.
"""
