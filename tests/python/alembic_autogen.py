"""Alembic's autogenerate (what `alembic revision --autogenerate` computes) against a database
made from a SQLAlchemy model: the model unchanged must give an empty migration, the model with
one added column exactly that add_column. Run by tests/tests/sqlalchemy.rs.

Usage: alembic_autogen.py PORT. Exits non-zero (with the differences) when autogenerate finds
anything else."""
import datetime
import decimal
import sys

from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.migration import MigrationContext
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Float, ForeignKey, Identity,
                        Index, Integer, MetaData, Numeric, SmallInteger, String, Table, Text, UniqueConstraint,
                        create_engine, func, text)

port = sys.argv[1]
eng = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")


def model(extra_column=False):
    md = MetaData()
    users = Table(
        "al_users", md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False, unique=True),
        Column("active", Boolean, server_default=text("true")),
        Column("created", DateTime, server_default=func.now()),
        Column("score", Numeric(10, 2), server_default="0"),
        Column("note", Text),
        Column("big", BigInteger, Identity()),
    )
    if extra_column:
        users.append_column(Column("age", Integer, nullable=True))
    Table(
        "al_orders", md,
        Column("id", BigInteger, primary_key=True),
        Column("user_id", Integer, ForeignKey("al_users.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("total", Numeric(12, 2)),
        Column("status", String(20), server_default="new"),
        Column("placed", Date),
        Column("qty", SmallInteger),
        Column("price", Float),
        UniqueConstraint("user_id", "status", name="al_orders_user_status"),
        CheckConstraint("total >= 0", name="al_orders_total_check"),
        Index("al_orders_placed_total", "placed", "total"),
    )
    return md


with eng.begin() as c:
    c.execute(text("DROP TABLE IF EXISTS al_orders"))
    c.execute(text("DROP TABLE IF EXISTS al_users"))
model().create_all(eng)

failed = False
with eng.connect() as c:
    # Only this script's tables (others in the database are not part of the model).
    only_ours = lambda name, type_, parent: type_ != "table" or name.startswith("al_")  # noqa: E731
    opts = {"compare_type": True, "compare_server_default": True, "include_name": only_ours}
    ctx = MigrationContext.configure(c, opts=opts)
    diff = compare_metadata(ctx, model())
    if diff:
        print("unchanged model, expected no changes:", diff)
        failed = True
    diff = compare_metadata(ctx, model(extra_column=True))
    ops = [d[0] for d in diff]
    if ops != ["add_column"] or diff[0][2] != "al_users" or diff[0][3].name != "age":
        print("model with one more column, expected one add_column:", diff)
        failed = True
    script = render_python_code(produce_migrations(ctx, model(extra_column=True)).upgrade_ops)
    print(script)
if failed:
    sys.exit(1)
print("OK")
