"""Menus (select fields) rendered once and kept (petitions.web.forms.MenuSelect): the same HTML
as WTForms' own select, whatever is chosen, grouped or not, in either language."""

from __future__ import annotations

import pytest
from wtforms.widgets import Select

from petitions.web.forms import MenuSelect, fill_filing_choices, unit_choices
from petitions.web.staff.forms import ActionForm


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_menu_renders_as_wtforms_select_does(app, lang):
    with app.test_request_context(f"/staff/x?lang={lang}"):
        form = ActionForm(formdata=None)
        fill_filing_choices(form)
        form.unit.choices = [("", "— 请选择 —"), ("a", "东城<街道>"), ("b", "西城 & 南城"), ("c", "")]
        assert form.category.has_groups()
        for chosen in ("", "b", form.category.choices[3].value, "no-such"):
            for name in ("unit", "category", "township", "outcome", "citizen_view"):
                field = form[name]
                field.data = chosen
                ours = MenuSelect()(field, id=f"act-{name}", required=True)
                assert ours == Select()(field, id=f"act-{name}", required=True), (name, chosen)
        # The kept unit menu, shared by every request, the same way.
        form.unit.choices = unit_choices()
        for chosen in ("", form.unit.choices[2].value, "no-such", None):
            form.unit.data = chosen
            assert MenuSelect()(form.unit, id="u") == Select()(form.unit, id="u"), chosen
        form.unit.choices = [("", "— 请选择 —"), ("a", "东城<街道>"), ("b", "西城 & 南城"), ("c", "")]
        # A kept menu still marks what this form has chosen.
        form.unit.data = "a"
        assert '<option selected value="a">' in MenuSelect()(form.unit)
        form.unit.data = "b"
        rendered = MenuSelect()(form.unit)
        assert '<option selected value="b">' in rendered and '<option selected value="a">' not in rendered
        assert "东城&lt;街道&gt;" in rendered


def test_the_staff_and_filing_forms_use_it(app):
    from petitions.web.citizen.forms import FilingForm

    assert isinstance(ActionForm.unit.field_class.widget, MenuSelect)
    assert isinstance(FilingForm.category.field_class.widget, MenuSelect)
