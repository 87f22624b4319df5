"""The packaged Jinja2 templates: each renders, HTML is escaped, a missing variable is named."""

import pytest
from markupsafe import escape

from hookline.services.email_templates import TEMPLATES, TemplateProblem, render

CONTEXTS = {
    "welcome": {"name": "Ana"},
    "appointment_confirmation": {"name": "Ana", "when": "3 Dec 2026, 10:00"},
    "dunning_reminder": {"name": "Ana", "step": 1, "invoice_number": "INV-7", "amount": "EUR 120.00",
                         "due_date": "2026-11-01"},
    "dunning_suspended": {"name": "Ana", "invoice_number": "INV-7", "amount": "EUR 120.00", "due_date": "2026-11-01",
                          "days_overdue": 21},
    "report_ready": {"name": "Ana", "report_name": "November KPIs", "url": "https://r.example/1"},
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_renders_subject_text_and_html(template):
    rendered = render(template, CONTEXTS[template], sender_name="Sunny Solar", recipient="ana@example.com")

    assert rendered.subject and "\n" not in rendered.subject
    assert "Ana" in rendered.text and "<" not in rendered.text
    assert rendered.html.startswith("<!doctype html>") and f"<title>{escape(rendered.subject)}</title>" in rendered.html


def test_html_is_escaped_and_text_is_not():
    rendered = render("welcome", {"name": "<script>x</script> & Co"}, sender_name="A & B", recipient="a@example.com")

    assert "&lt;script&gt;x&lt;/script&gt; &amp; Co" in rendered.html and "<script>" not in rendered.html
    assert "Hello <script>x</script> & Co," in rendered.text


def test_the_dunning_step_chooses_the_wording():
    subjects = [render("dunning_reminder", {**CONTEXTS["dunning_reminder"], "step": step}, sender_name="S",
                       recipient="a@example.com").subject for step in (1, 2, 3)]

    assert subjects == ["Reminder: invoice INV-7 is due", "Reminder 2: invoice INV-7 is overdue",
                        "Final notice: invoice INV-7 is overdue"]


def test_final_says_which_reminder_is_the_last_whatever_its_number():
    def subject(step, final):
        return render("dunning_reminder", {**CONTEXTS["dunning_reminder"], "step": step, "final": final},
                      sender_name="S", recipient="a@example.com").subject

    assert subject(3, False) == "Reminder 3: invoice INV-7 is overdue"
    assert subject(4, True) == "Final notice: invoice INV-7 is overdue"


def test_optional_variables_appear_only_when_given():
    without = render("appointment_confirmation", CONTEXTS["appointment_confirmation"], sender_name="S", recipient="a@x.io")
    with_place = render("appointment_confirmation", {**CONTEXTS["appointment_confirmation"], "where": "Hauptstr. 1"},
                        sender_name="S", recipient="a@x.io")

    assert "Where" not in without.text and "Where: Hauptstr. 1" in with_place.text


def test_a_missing_variable_or_unknown_template_is_a_template_problem():
    with pytest.raises(TemplateProblem, match="'report_name' is undefined"):
        render("report_ready", {"name": "Ana", "url": "u"}, sender_name="S", recipient="a@example.com")
    with pytest.raises(TemplateProblem, match="unknown email template 'invoice'"):
        render("invoice", {}, sender_name="S", recipient="a@example.com")
