"""A minimal Django shop paying with Purse through the blocking `purse_sync` client."""
