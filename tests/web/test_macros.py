"""The shared macros (templates/macros.html) that every page builds on."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from urllib.parse import unquote

from alianza.problems import Problem
from alianza.web.templating import make_environment


def render(source: str, locale: str = "en", **context: object) -> str:
    template = '{% import "macros.html" as ui with context %}' + source
    return make_environment().from_string(template).render(locale=locale, **context)


def test_pager_links_keep_the_query_and_stop_at_the_ends() -> None:
    html = render("{{ ui.pager(45, 20, 20, '/calls', {'status': 'open'}) }}", locale="es")
    assert "21–40 de 45" in html
    assert 'href="/calls?status=open&amp;limit=20&amp;offset=0"' in html
    assert 'href="/calls?status=open&amp;limit=20&amp;offset=40"' in html
    first = render("{{ ui.pager(45, 20, 0, '/calls') }}")
    assert 'rel="prev"' not in first and 'rel="next"' in first
    assert render("{{ ui.pager(5, 20, 0, '/calls') }}").strip() == ""


def test_table_scrolls_and_says_when_empty() -> None:
    html = render("{{ ui.table(['Name', 'Amount'], [['A', '1.00']], numeric=[1]) }}")
    assert 'class="table-scroll"' in html and '<td class="num">1.00</td>' in html
    assert "Nada que mostrar." in render("{{ ui.table(['Name'], []) }}", locale="es")


def test_field_shows_its_error() -> None:
    html = render("{{ ui.field('phone', 'Phone', value='x', errors={'phone': 'not a phone'}) }}")
    assert 'aria-invalid="true"' in html and "not a phone" in html
    assert 'value="x"' in html


def test_problems_list_every_field_path() -> None:
    problems = [Problem("a[0].b", "wrong"), Problem("", "also wrong")]
    html = render("{{ ui.problems(problems) }}", locale="pt", problems=problems)
    assert "2 problemas" in html and '<code class="field-path">a[0].b</code>' in html


def test_chart_carries_its_data_table_and_csv() -> None:
    spec = {
        "type": "bar",
        "format": "money",
        "currency": "USD",
        "label_title": "Year",
        "labels": ["1", "2"],
        "datasets": [{"label": "Net", "data": [1234.5, -10]}],
    }
    html = render("{{ ui.chart('c1', 'Flows', spec, filename='f.csv') }}", spec=spec)
    data = re.search(r'<script type="application/json" class="chart-data">(.*?)</script>', html)
    assert data is not None and json.loads(data.group(1)) == spec
    assert "$1,234.50" in html and "-$10.00" in html  # the table, formatted for the locale
    href = re.search(r'download="f.csv" href="([^"]+)"', html)
    assert href is not None
    assert unquote(href.group(1)).endswith("Year,Net\r\n1,1234.5\r\n2,-10\r\n")


def test_a_json_block_cannot_close_its_script() -> None:
    spec = {"type": "bar", "labels": ["</script><script>alert(1)</script>"], "datasets": []}
    html = render("{{ ui.chart('c2', 'x', spec) }}", spec=spec)
    assert "</script><script>" not in html


def test_csrf_input_takes_the_request_token() -> None:
    request = SimpleNamespace(state=SimpleNamespace(csrf_token='t"1'))
    html = make_environment().from_string("{{ csrf_input() }}").render(request=request)
    assert html == '<input type="hidden" name="csrf_token" value="t&#34;1">'
    empty = make_environment().from_string("{{ csrf_input() }}").render()
    assert 'value=""' in empty
