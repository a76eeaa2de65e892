"""Form fields in the portal's look (Bootstrap 5), without touching the form classes.

`{% include "portal/_field.html" with field=form.email %}` renders one field; the tags below give
its input Bootstrap's class for its kind at render time. Django's BoundField already marks an
invalid input `aria-invalid="true"` and points `aria-describedby` at `<id>_helptext` and
`<id>_error`, the ids the include gives the help text and the errors.
"""

from django import template
from django.forms.boundfield import BoundWidget

register = template.Library()

# widget_type (Django's name for the widget, e.g. "select", "checkbox") -> Bootstrap's class
CLASSES = {
    "select": "form-select",
    "selectmultiple": "form-select",
    "nullbooleanselect": "form-select",
    "checkbox": "form-check-input",
    "radioselect": "form-check-input",
    "checkboxselectmultiple": "form-check-input",
}


def css_class(field, extra=""):
    classes = [
        field.field.widget.attrs.get("class", ""),
        CLASSES.get(field.widget_type, "form-control"),
        "is-invalid" if field.errors else "",
        extra,
    ]
    return " ".join(c for c in classes if c)


@register.simple_tag
def field_input(field, **attrs):
    """The field's input with Bootstrap's class added to the widget's own; keyword arguments
    become more attributes (`{% field_input field placeholder="…" class="w-auto" %}`)."""
    return field.as_widget(attrs={**attrs, "class": css_class(field, attrs.get("class", ""))})


@register.filter
def field_options(field):
    """The options of a radio or checkbox list, each to render as `{{ option.tag }}` with its own
    label, with Bootstrap's class (what `{% for option in field %}` gives, plus the class)."""
    widget = field.field.widget
    id_ = widget.attrs.get("id") or field.auto_id
    attrs = field.build_widget_attrs({"id": id_} if id_ else {})
    attrs["class"] = css_class(field)
    return [
        BoundWidget(widget, option, field.form.renderer)
        for option in widget.subwidgets(field.html_name, field.value(), attrs=attrs)
    ]
