"""Request admission, in the order a request meets it: proxies, hosts, CORS, rate limits, keys, body
and query limits."""
