import factory

from loyalty.members.models import Member
from loyalty.shops.models import Platform, Program, Shop
from loyalty.tiers.services import tier_default_tag


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("platform", "domain")
        skip_postgeneration_save = True

    platform = Platform.SHOPIFY
    domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    name = factory.Sequence(lambda n: f"Shop {n}")
    currency = "USD"
    installed_at = factory.Faker("date_time_this_year", tzinfo=__import__("datetime").UTC)
    program = factory.RelatedFactory("tests.factories.ProgramFactory", factory_related_name="shop")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    shop = factory.SubFactory(ShopFactory, program=None)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    shop = factory.SubFactory(ShopFactory)
    platform_customer_id = factory.Sequence(lambda n: str(7000000 + n))
    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    first_name = "Aisyah"
    last_name = "Rahman"


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "tiers.Tier"

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = factory.Sequence(lambda n: 100 * (n + 1))
    tag = factory.LazyAttribute(lambda tier: tier_default_tag(name=tier.name))


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rewards.Reward"

    shop = factory.SubFactory(ShopFactory)
    name = "5 off your order"
    kind = "amount_off"
    points_cost = 500
    value = __import__("decimal").Decimal("5.00")
