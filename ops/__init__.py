"""Running Genesis Assist the way it is deployed: replicas, load balancer, shared stores.

`topology` describes the processes (one description for `make run-prod`, the fault tests, the
benchmark and the files in `deploy/`), `nginx` renders the load balancer's configuration,
`services` makes sure PostgreSQL and Redis are there, and `run` starts and stops it all.
"""
