"""What the EKS service runs, behind narrow seams (`interface`): control planes (`process`: a
child process per cluster, `child` its entry point, `webhook` its token authenticator) and node
instances (`nodes`), with fakes (`fake`) for the API tests."""
