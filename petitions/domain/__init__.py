"""The law, pure: no Flask, no ORM session, no Redis, no face."""
