"""The migrations and the models describe the same schema, on SQLite and PostgreSQL alike."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from petitions.models import schema_objects_of


def test_migrations_match_models(app, db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": schema_objects_of(conn.dialect.name)}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_every_model_table_exists(app, db):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_demo_county_shape(app, db):
    from sqlalchemy import func, select

    from petitions.models import Category, Unit, User

    def count(kind):
        return db.session.scalar(select(func.count()).select_from(Unit).where(Unit.kind == kind))

    assert count("township") == 12
    assert count("committee") == 3
    assert count("department") == 32
    assert count("bureau") == count("discipline") == count("government") == 1
    gov = db.session.scalar(select(Unit).where(Unit.kind == "government"))
    others = db.session.scalars(select(Unit).where(Unit.kind != "government")).all()
    assert all(u.parent_id == gov.id for u in others)
    leaves = db.session.scalars(select(Category).where(Category.parent_id.is_not(None))).all()
    assert len(leaves) >= 30
    assert {c.kind for c in leaves} == {"grievance", "suggestion", "report", "consultation"}
    assert all(c.keyword_list() for c in leaves)
    for unit in db.session.scalars(select(Unit)):
        for suffix in ("leader", "handler"):
            user = db.session.scalar(select(User).where(User.username == f"{unit.code}-{suffix}"))
            assert user is not None and user.unit_id == unit.id
    # One shared hash: checking one account checks them all.
    assert db.session.scalar(select(User).where(User.username == "jw-handler")).check_password("petition-demo")
    for name in ("admin", "intake", "supervisor"):
        assert db.session.scalar(select(User).where(User.username == name)) is not None


def test_demo_routes_every_category_of_every_place(app, db):
    from sqlalchemy import select

    from petitions.models import Category, Unit
    from petitions.services import reference

    places = db.session.scalars(select(Unit).where(Unit.kind.in_(["township", "committee"]))).all()
    leaves = db.session.scalars(select(Category).where(Category.parent_id.is_not(None))).all()
    for category in leaves:
        for place in places:
            unit = reference.route_for(category, place)
            assert unit is not None, (category.code, place.code)
            if category.kind == "report":
                assert unit.kind == "discipline"
                assert unit.id != place.id


def test_seed_is_idempotent(app, db):
    from ops import demo

    again = demo.load("petition-demo")
    assert (again.units, again.categories, again.rules, again.users) == (0, 0, 0, 0)
