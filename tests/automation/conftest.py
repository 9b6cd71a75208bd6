from tests.state_fixtures import database

__all__ = ["database"]
