"""Integrations with other engines, each behind an extra of its own.

- `purse_async.contrib.redis`: `RedisTokenStore`, one OAuth2 token shared by a whole fleet of
  processes and hosts (`pip install 'purse-sdk[redis]'`).

Nothing here is imported by `purse_async` itself: import the module you need.
"""
