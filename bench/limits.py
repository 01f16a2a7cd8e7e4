"""Open-files limit: 1000 concurrent streams need ~1000 descriptors in the generator and ~2000
in the gateway and the relay (client side and upstream side), above the usual soft 1024."""

import resource


def raise_open_files_limit(wanted: int = 65536) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
