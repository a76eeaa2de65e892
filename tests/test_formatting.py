"""The template filters that write the highlights' numbers and dates, in French and English."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from portal.templatetags import psm_format as f

NBSP = "\u00a0"


@pytest.fixture
def french():
    with translation.override("fr-ca"):
        yield


@pytest.fixture
def english():
    with translation.override("en"):
        yield


class MoneyMillionsTests:
    @pytest.mark.usefixtures("french")
    def test_it_writes_millions_to_one_decimal_in_french(self):
        assert f.money_millions(Decimal("39286412.50")) == f"39,3{NBSP}M$"
        assert f.money_millions(Decimal("5912345.67")) == f"5,9{NBSP}M$"

    @pytest.mark.usefixtures("english")
    def test_it_writes_millions_to_one_decimal_in_english(self):
        assert f.money_millions(Decimal("39286412.50")) == "$39.3M"

    @pytest.mark.usefixtures("french")
    @pytest.mark.parametrize(
        ("amount", "written"),
        [
            ("39250000", "39,3"),
            ("39350000", "39,4"),
            ("39249999.99", "39,2"),
            ("39360000", "39,4"),
            ("50000", "0,1"),
            ("0", "0,0"),
        ],
    )
    def test_it_rounds_half_up(self, amount, written):
        assert f.money_millions(Decimal(amount)) == f"{written}{NBSP}M$"

    @pytest.mark.usefixtures("english")
    def test_it_rounds_half_up_in_english_too(self):
        assert f.money_millions(Decimal("39250000")) == "$39.3M"
        assert f.money_millions(Decimal("39350000")) == "$39.4M"

    @pytest.mark.usefixtures("french")
    def test_it_groups_thousands_of_millions(self):
        assert f.money_millions(Decimal("1234500000")) == f"1{NBSP}234,5{NBSP}M$"

    @pytest.mark.usefixtures("french")
    def test_it_takes_the_number_of_places(self):
        assert f.money_millions(Decimal("150000000"), 0) == f"150{NBSP}M$"

    @pytest.mark.usefixtures("french")
    def test_a_float_is_read_as_written(self):
        assert f.money_millions(39250000.0) == f"39,3{NBSP}M$"


class MoneyMillionsWordsTests:
    @pytest.mark.usefixtures("french")
    def test_it_writes_up_to_two_decimals_in_french(self):
        assert f.money_millions_words(Decimal("26750000")) == f"26,75{NBSP}millions de dollars"
        assert f.money_millions_words(Decimal("160500000")) == f"160,5{NBSP}millions de dollars"
        assert f.money_millions_words(Decimal("18000000")) == f"18{NBSP}millions de dollars"

    @pytest.mark.usefixtures("french")
    def test_million_is_singular_below_two(self):
        assert f.money_millions_words(Decimal("1500000")) == f"1,5{NBSP}million de dollars"

    @pytest.mark.usefixtures("french")
    def test_it_rounds_half_up_to_the_hundredth(self):
        assert f.money_millions_words(Decimal("26745000")) == f"26,75{NBSP}millions de dollars"

    @pytest.mark.usefixtures("english")
    def test_it_writes_english(self):
        assert f.money_millions_words(Decimal("26750000")) == f"$26.75{NBSP}million"
        assert f.money_millions_words(Decimal("160500000")) == f"$160.5{NBSP}million"


class MoneyTests:
    @pytest.mark.usefixtures("french")
    def test_it_groups_with_no_break_spaces_in_french(self):
        assert f.money(1234567) == f"1{NBSP}234{NBSP}567{NBSP}$"

    @pytest.mark.usefixtures("french")
    def test_it_shows_cents_only_when_there_are_some(self):
        assert f.money(Decimal("1234.50")) == f"1{NBSP}234,50{NBSP}$"
        assert f.money(Decimal("1234.00")) == f"1{NBSP}234{NBSP}$"

    @pytest.mark.usefixtures("english")
    def test_it_writes_english(self):
        assert f.money(1234567) == "$1,234,567"
        assert f.money(Decimal("-12.5")) == "-$12.50"


class DateTests:
    @pytest.mark.usefixtures("french")
    def test_the_first_of_the_month_is_1er_in_french(self):
        assert f.long_date(datetime.date(2019, 4, 1)) == "1er avril 2019"
        assert f.long_date(datetime.date(2020, 3, 31)) == "31 mars 2020"
        assert f.long_date(datetime.date(2020, 8, 31)) == "31 août 2020"

    @pytest.mark.usefixtures("english")
    def test_english_writes_month_day_year(self):
        assert f.long_date(datetime.date(2019, 4, 1)) == "April 1, 2019"

    @pytest.mark.usefixtures("french")
    def test_a_datetime_is_read_in_local_time(self):
        # 02:00 UTC on Sept 1 is still Aug 31 in Montreal.
        moment = datetime.datetime(2020, 9, 1, 2, 0, tzinfo=datetime.UTC)
        assert f.long_date(moment) == "31 août 2020"

    @pytest.mark.usefixtures("french")
    def test_date_range_in_french(self):
        start, end = datetime.date(2019, 4, 1), datetime.date(2020, 3, 31)
        assert f.date_range(start, end) == "Du 1er avril 2019 au 31 mars 2020"

    @pytest.mark.usefixtures("english")
    def test_date_range_in_english(self):
        start, end = datetime.date(2019, 4, 1), datetime.date(2020, 3, 31)
        assert f.date_range(start, end) == "April 1, 2019 to March 31, 2020"


class PercentAndIntegerTests:
    @pytest.mark.usefixtures("french")
    def test_percent_in_french(self):
        assert f.percent(Decimal("0.1505")) == f"15,1{NBSP}%"
        assert f.percent(Decimal("0.15")) == f"15,0{NBSP}%"

    @pytest.mark.usefixtures("english")
    def test_percent_in_english(self):
        assert f.percent(Decimal("0.1505")) == "15.1%"

    @pytest.mark.usefixtures("french")
    def test_integer_in_french(self):
        assert f.integer(474) == "474"
        assert f.integer(1234) == f"1{NBSP}234"

    @pytest.mark.usefixtures("english")
    def test_integer_in_english(self):
        assert f.integer(1234) == "1,234"


@pytest.mark.usefixtures("french")
@pytest.mark.parametrize(
    "written",
    [f.integer, f.money, f.money_millions, f.money_millions_words, f.percent, f.long_date],
)
def test_nothing_reads_as_a_dash(written):
    assert written(None) == "—"


@pytest.mark.usefixtures("french")
def test_an_empty_range_reads_as_a_dash():
    assert f.date_range(None, datetime.date(2020, 3, 31)) == "—"


class BecauseTests:
    @pytest.mark.usefixtures("french")
    @pytest.mark.parametrize(
        ("reason", "clause"),
        [
            ("COVID-19", "en raison de la COVID-19"),
            ("la grève des postes", "en raison de la grève des postes"),
            ("le déménagement du centre", "en raison du déménagement du centre"),
            ("les inondations.", "en raison des inondations"),
            ("l'incendie", "en raison de l'incendie"),
            ("d'une panne", "en raison d'une panne"),
            ("Panne informatique", "en raison de : Panne informatique"),
        ],
    )
    def test_french_places_the_reason_after_de(self, reason, clause):
        assert f.because(reason) == clause

    @pytest.mark.usefixtures("english")
    def test_english(self):
        assert f.because("COVID-19") == "because of COVID-19"


@pytest.mark.usefixtures("french")
def test_the_filters_are_usable_in_templates():
    template = Template(
        "{% load psm_format %}{{ amount|money_millions }} {{ start|date_range:end }}"
    )
    context = Context(
        {
            "amount": Decimal("39286412.50"),
            "start": datetime.date(2019, 4, 1),
            "end": datetime.date(2020, 3, 31),
        }
    )
    assert template.render(context) == f"39,3{NBSP}M$ Du 1er avril 2019 au 31 mars 2020"
