"""EC2 (ec2 protocol, API 2016-11-15): the VPC model (`network`) and its Describe APIs
(`service`)."""
