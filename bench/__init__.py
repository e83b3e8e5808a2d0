"""``make bench``: cold starts, CPU and AWS calls per login, throughput, size and cost, measured locally."""
