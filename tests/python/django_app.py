"""Django 5 (psycopg 3) against a PostgreSQL server on 127.0.0.1:PORT: `makemigrations` and
`migrate` of django.contrib.auth, contenttypes and a small app (varchar_pattern_ops LIKE
indexes, identity keys, deferrable foreign keys, a many-to-many table, JSONField, composite
indexes, unique_together), then ORM queries whose results are printed one per line, then
`migrate shop zero`. tests/tests/django.rs runs it on Orbit and on PostgreSQL 15 and compares
the output line by line.

Usage: django_app.py PORT
"""

import os
import sys
import tempfile
import textwrap

port = sys.argv[1]
root = tempfile.mkdtemp(prefix="orbit-django-")
os.makedirs(os.path.join(root, "shop"))
with open(os.path.join(root, "shop", "__init__.py"), "w") as f:
    f.write("")
with open(os.path.join(root, "shop", "models.py"), "w") as f:
    f.write(
        textwrap.dedent(
            """
            from django.db import models

            class Tag(models.Model):
                name = models.CharField(max_length=50, unique=True)

            class Product(models.Model):
                name = models.CharField(max_length=100, db_index=True)
                price = models.DecimalField(max_digits=10, decimal_places=2)
                created = models.DateTimeField()
                data = models.JSONField(default=dict)
                tags = models.ManyToManyField(Tag)

                class Meta:
                    indexes = [models.Index(fields=["price", "created"])]

            class Order(models.Model):
                product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="orders")
                qty = models.IntegerField()
                note = models.TextField(blank=True)

                class Meta:
                    unique_together = [("product", "qty")]
            """
        )
    )
sys.path.insert(0, root)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="orbit-test",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "shop"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": port,
        }
    },
    USE_TZ=True,
    TIME_ZONE="UTC",
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    MIGRATION_MODULES={"shop": "shop.migrations"},
)
django.setup()

from datetime import datetime, timezone  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import (  # noqa: E402
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Concat, ExtractYear, Lower, Rank, TruncDate  # noqa: E402

os.makedirs(os.path.join(root, "shop", "migrations"))
open(os.path.join(root, "shop", "migrations", "__init__.py"), "w").close()
call_command("makemigrations", "shop", verbosity=0)
call_command("migrate", verbosity=0)

from shop.models import Order, Product, Tag  # noqa: E402


def show(label, value):
    print(f"{label}: {value!r}")


with connection.cursor() as c:
    c.execute(
        "select indexname from pg_indexes where tablename like 'shop_%' and indexname like '%like' order by 1"
    )
    show("like indexes", [r[0] for r in c.fetchall()])

# contrib.auth: users, groups and permissions through the many-to-many tables.
u = User.objects.create_user("ada", "ada@example.com", "pw")
g = Group.objects.create(name="staff")
g.permissions.add(*Permission.objects.filter(codename__startswith="add_"))
u.groups.add(g)
show("perms", sorted(User.objects.get(username="ada").get_all_permissions())[:3])
show("check_password", User.objects.get(username="ada").check_password("pw"))

when = datetime(2024, 3, 5, 12, 30, tzinfo=timezone.utc)
red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")
apple = Product.objects.create(name="apple", price=Decimal("1.50"), created=when, data={"color": "red", "n": 3})
apple.tags.add(red, blue)
pear = Product.objects.create(name="Pear", price=Decimal("2.25"), created=when, data={"n": 1, "k": [1, 2]})
Order.objects.bulk_create([Order(product=apple, qty=i, note=f"n{i}") for i in range(1, 6)])
Order.objects.create(product=pear, qty=7)

show("icontains", Product.objects.filter(name__icontains="APP").count())
show("startswith", list(Product.objects.filter(name__startswith="ap").values_list("name", flat=True)))
show("iexact", list(Product.objects.filter(name__iexact="pear").values_list("name", flat=True)))
show(
    "annotate count",
    list(Product.objects.annotate(n=Count("orders")).order_by("name").values_list("name", "n")),
)
show("aggregate", Order.objects.aggregate(s=Sum("qty"), a=Avg("qty"), m=Max("qty")))
show("json key", Product.objects.filter(data__color="red").count())
show("json gt", list(Product.objects.filter(data__n__gt=2).values_list("name", flat=True)))
show("json has_key", list(Product.objects.filter(data__has_key="k").values_list("name", flat=True)))
show("json contains", list(Product.objects.filter(data__contains={"n": 1}).values_list("name", flat=True)))
show("m2m", list(Tag.objects.filter(product__name="apple").order_by("name").values_list("name", flat=True)))
show("select_related", [(o.qty, o.product.name) for o in Order.objects.select_related("product").order_by("qty")[:2]])
show(
    "prefetch",
    [(p.name, sorted(t.name for t in p.tags.all())) for p in Product.objects.prefetch_related("tags").order_by("id")],
)
Order.objects.filter(qty__gt=3, product=apple).update(qty=F("qty") + 10)
show("update F", sorted(Order.objects.values_list("qty", flat=True)))
show(
    "case when",
    list(
        Order.objects.annotate(
            size=Case(When(qty__gte=10, then=Value(2)), When(qty__gte=3, then=Value(1)), default=0, output_field=IntegerField())
        )
        .order_by("qty")
        .values_list("qty", "size")
    ),
)
newest = Order.objects.filter(product=OuterRef("pk")).order_by("-qty").values("qty")[:1]
show("subquery", list(Product.objects.annotate(top=Subquery(newest)).order_by("id").values_list("name", "top")))
show(
    "exists",
    list(
        Product.objects.filter(Exists(Order.objects.filter(product=OuterRef("pk"), qty__gt=10)))
        .values_list("name", flat=True)
    ),
)
show(
    "window",
    list(
        Order.objects.annotate(r=Window(Rank(), partition_by=F("product_id"), order_by=F("qty").desc()))
        .order_by("product_id", "r")
        .values_list("qty", "r")
    ),
)
show("functions", list(Product.objects.annotate(l=Lower("name"), c=Concat("name", Value("!"))).order_by("id").values_list("l", "c")))
show("dates", list(Product.objects.annotate(y=ExtractYear("created"), d=TruncDate("created")).values_list("y", "d").distinct()))
show("distinct on", list(Order.objects.order_by("product_id", "-qty").distinct("product_id").values_list("qty", flat=True)))
show("union", sorted(Product.objects.filter(name="apple").values_list("name").union(Tag.objects.values_list("name"))))
show("in_bulk", sorted(Tag.objects.in_bulk([red.pk, blue.pk]).keys()) == sorted([red.pk, blue.pk]))
obj, created = Tag.objects.get_or_create(name="green")
show("get_or_create", (obj.name, created, Tag.objects.get_or_create(name="green")[1]))
obj, created = Tag.objects.update_or_create(name="green", defaults={"name": "lime"})
show("update_or_create", (obj.name, created))
for o in Order.objects.filter(product=pear):
    o.note = "bulk"
Order.objects.bulk_update(list(Order.objects.filter(product=pear)), ["note"])
show("iterator", [o.qty for o in Order.objects.order_by("qty").iterator(chunk_size=2)])

try:
    with transaction.atomic():
        Order.objects.create(product=apple, qty=1)
except IntegrityError as e:
    show("unique violation", type(e).__name__)
with transaction.atomic():
    sid = transaction.savepoint()
    Tag.objects.create(name="gone")
    transaction.savepoint_rollback(sid)
show("savepoint", Tag.objects.filter(name="gone").exists())
with transaction.atomic():
    locked = list(Product.objects.select_for_update().filter(pk=apple.pk).values_list("name", flat=True))
show("select_for_update", locked)
show("or distinct", list(Product.objects.filter(Q(price__gt=2) | Q(tags__name="red")).distinct().order_by("id").values_list("name", flat=True)))
apple.delete()
show("cascade", (Order.objects.count(), Product.objects.count(), Tag.objects.count()))
call_command("migrate", "shop", "zero", verbosity=0)
with connection.cursor() as c:
    c.execute("select count(*) from pg_class where relname like 'shop_%'")
    show("after migrate zero", c.fetchone()[0])
User.objects.all().delete()
Group.objects.all().delete()
call_command("migrate", "auth", "zero", verbosity=0)
call_command("migrate", "contenttypes", "zero", verbosity=0)
with connection.cursor() as c:
    c.execute("select count(*) from pg_class where relname like 'auth_%' or relname like 'django_content%'")
    show("all unapplied", c.fetchone()[0])
