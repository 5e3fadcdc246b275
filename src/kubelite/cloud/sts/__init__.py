"""STS (query protocol, API 2011-06-15): GetCallerIdentity, AssumeRole, GetSessionToken."""
