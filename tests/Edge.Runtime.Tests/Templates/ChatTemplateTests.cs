using System.Text.Json;
using Edge.Runtime.Templates;

namespace Edge.Runtime.Tests.Templates;

/// <summary>The Jinja subset itself: constructs, scoping, refusals.</summary>
[TestClass]
public sealed class ChatTemplateTests
{
    private static string Render(string template, string variables = "{}")
    {
        using var json = JsonDocument.Parse(variables);
        return ChatTemplate.Parse(template).Render(json.RootElement);
    }

    [TestMethod]
    [DataRow("{{ 'a,b,c'.split(',')[-1] }}|{{ [1, 2, 3][1:] }}|{{ 'abc'[::-1] }}", "c|[2, 3]|cba")]
    [DataRow("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 3 - 1 }}", "3 -4 2 3.5 1024 2")]
    [DataRow("{{ 'x' ~ 1 ~ none }}|{{ 'a' in 'cat' }}|{{ 2 not in [1, 3] }}|{{ 1 == 1.0 }}", "x1|true|true|true")]
    [DataRow("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "6")]
    [DataRow("{% set x = 1 %}{% for i in [5] %}{% set x = i %}{% endfor %}{{ x }}", "1")]
    [DataRow("{% for a, b in {'k': 'v', 'q': 'w'}|items %}{{ loop.index }}{{ a }}={{ b }}{{ ',' if not loop.last }}{% endfor %}", "1k=v,2q=w")]
    [DataRow("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{% else %}empty{% endfor %}", "24|empty")]
    [DataRow("{{ {'b': [1, 'é'], 'a': none} | tojson }}", "{\"b\": [1, \"é\"], \"a\": null}")]
    [DataRow("{{ [{'n': 1}, {'n': 2}] | map(attribute='n') | join('+') }}|{{ 'Ab'|upper }}{{ 'Ab'|lower }}|{{ ' t '|trim }}|{{ [3, 1]|length }}", "1+2|ABab|t|2")]
    [DataRow("  {% if true %}\n  yes\n  {% endif %}\nend", "  yes\nend")]
    [DataRow("a  {{- ' b ' -}}  c{# comment #}\n", "a b c")]
    [DataRow("{% if x is defined %}d{% elif y is none %}n{% else %}e{% endif %}", "n", "{\"y\": null}")]
    [DataRow("{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}", "02")]
    [DataRow("{% set block %}in {{ 'side' }}{% endset %}[{{ block }}]", "[in side]")]
    public void EvaluatesTheJinjaSubset(string template, string expected, string variables = "{}") =>
        Assert.AreEqual(expected, Render(template, variables));

    [TestMethod]
    public void StripWithCharactersFollowsJinja2()
    {
        // Qwen3's template calls content.lstrip('\n'). Jinja2 (what transformers runs) strips only
        // newlines; @huggingface/jinja ignores the argument and strips spaces too. We follow Jinja2.
        Assert.AreEqual("[  x]|[x]|[ab]", Render("[{{ '\\n  x'.lstrip('\\n') }}]|[{{ 'xx'.strip('x') or 'x' }}]|[{{ 'ab--'.rstrip('-') }}]"));
    }

    [TestMethod]
    public void RaiseExceptionFailsTheRenderWithItsMessage()
    {
        var error = Assert.ThrowsExactly<TemplateException>(() => Render("{{ raise_exception('Conversation roles must alternate') }}"));
        Assert.AreEqual("Conversation roles must alternate", error.Message);
    }

    [TestMethod]
    [DataRow("{% macro m() %}x{% endmacro %}", "'macro' statement")]
    [DataRow("{{ x | wordwrap(3) }}", "filter 'wordwrap'")]
    [DataRow("{% if x is sameas y %}{% endif %}", "test 'sameas'")]
    [DataRow("{% include 'other' %}", "'include' statement")]
    [DataRow("{% if x %}", "ends before")]
    [DataRow("{{ 'unterminated }}", "never closed")]
    [DataRow("{% endfor %}", "unexpected 'endfor'")]
    public void RefusesUnsupportedConstructsAtLoadNamingThem(string template, string message)
    {
        var error = Assert.ThrowsExactly<TemplateException>(() => ChatTemplate.Parse(template));
        StringAssert.Contains(error.Message, message);
    }

    [TestMethod]
    public void TypeErrorsAreTemplateErrors()
    {
        StringAssert.Contains(Assert.ThrowsExactly<TemplateException>(() => Render("{{ 1 - 'a' }}")).Message, "cannot apply '-'");
        StringAssert.Contains(Assert.ThrowsExactly<TemplateException>(() => Render("{{ x() }}")).Message, "not a function");
    }
}
