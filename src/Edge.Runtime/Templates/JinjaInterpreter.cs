using System.Text;

namespace Edge.Runtime.Templates;

/// <summary>Renders a parsed template: statements write text, expressions evaluate to template values.</summary>
internal sealed class JinjaInterpreter
{
    private readonly StringBuilder _output = new();
    private Scope _scope;

    private JinjaInterpreter(Scope globals) => _scope = globals;

    public static string Render(IReadOnlyList<Node> template, IReadOnlyDictionary<string, object?> variables)
    {
        var globals = new Scope(null);
        foreach (var (name, function) in JinjaBuiltins.Globals)
            globals.Set(name, function);
        foreach (var (name, value) in variables)
            globals.Set(name, value);
        var interpreter = new JinjaInterpreter(globals);
        interpreter.Execute(template);
        return interpreter._output.ToString();
    }

    private enum Flow { Normal, Break, Continue }

    private Flow Execute(IReadOnlyList<Node> nodes)
    {
        foreach (var node in nodes)
        {
            var flow = Execute(node);
            if (flow != Flow.Normal)
                return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Node node)
    {
        switch (node)
        {
            case TextNode text:
                _output.Append(text.Text);
                return Flow.Normal;
            case OutputNode output:
                _output.Append(JinjaValues.ToOutput(Evaluate(output.Value)));
                return Flow.Normal;
            case IfNode branch:
                foreach (var (condition, body) in branch.Branches)
                {
                    if (JinjaValues.IsTrue(Evaluate(condition)))
                        return Execute(body);
                }
                return branch.Else is null ? Flow.Normal : Execute(branch.Else);
            case ForNode loop:
                ExecuteFor(loop);
                return Flow.Normal;
            case SetNode set:
                ExecuteSet(set);
                return Flow.Normal;
            case LoopControlNode control:
                return control.IsBreak ? Flow.Break : Flow.Continue;
            default:
                throw new TemplateException($"Line {node.Line}: unknown statement.");
        }
    }

    private void ExecuteFor(ForNode loop)
    {
        var items = Iterate(Evaluate(loop.Iterable), loop.Line);
        var outer = _scope;
        if (loop.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                _scope = new Scope(outer);
                Bind(loop.Targets, item, loop.Line);
                if (JinjaValues.IsTrue(Evaluate(loop.Filter)))
                    kept.Add(item);
            }
            _scope = outer;
            items = kept;
        }
        if (items.Count == 0)
        {
            if (loop.Else is not null)
                Execute(loop.Else);
            return;
        }
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                // Each iteration gets its own scope: a plain {% set %} inside a loop does not leak out.
                _scope = new Scope(outer);
                _scope.Set("loop", LoopInfo(items, i));
                Bind(loop.Targets, items[i], loop.Line);
                if (Execute(loop.Body) == Flow.Break)
                    break;
            }
        }
        finally
        {
            _scope = outer;
        }
    }

    private static Dictionary<string, object?> LoopInfo(List<object?> items, int i) => new()
    {
        ["index"] = (long)(i + 1),
        ["index0"] = (long)i,
        ["revindex"] = (long)(items.Count - i),
        ["revindex0"] = (long)(items.Count - i - 1),
        ["first"] = i == 0,
        ["last"] = i == items.Count - 1,
        ["length"] = (long)items.Count,
        ["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance,
        ["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Instance,
        ["cycle"] = new Callable("cycle", (args, _) => args.Count == 0 ? null : args[i % args.Count]),
    };

    private void Bind(IReadOnlyList<string> targets, object? item, int line)
    {
        if (targets.Count == 1)
        {
            _scope.Set(targets[0], item);
            return;
        }
        if (item is not List<object?> values || values.Count != targets.Count)
            throw new TemplateException($"Line {line}: cannot unpack {JinjaValues.TypeName(item)} into {targets.Count} loop variables.");
        for (int k = 0; k < targets.Count; k++)
            _scope.Set(targets[k], values[k]);
    }

    private void ExecuteSet(SetNode set)
    {
        object? value;
        if (set.Body is not null)
        {
            var saved = _output.Length;
            Execute(set.Body);
            value = _output.ToString(saved, _output.Length - saved);
            _output.Length = saved;
        }
        else
        {
            value = Evaluate(set.Value!);
        }
        if (set.Attribute is null)
        {
            _scope.Set(set.Name, value);
            return;
        }
        if (_scope.Get(set.Name) is not Namespace ns)
            throw new TemplateException($"Line {set.Line}: cannot set '{set.Name}.{set.Attribute}': '{set.Name}' is not a namespace.");
        ns.Attributes[set.Attribute] = value;
    }

    public object? Evaluate(Expr expression)
    {
        switch (expression)
        {
            case LiteralExpr literal:
                return literal.Value;
            case NameExpr name:
                return _scope.Get(name.Name);
            case ListExpr list:
                return list.Items.Select(Evaluate).ToList();
            case DictExpr dict:
            {
                var result = new Dictionary<string, object?>();
                foreach (var (key, value) in dict.Items)
                    result[JinjaValues.ToOutput(Evaluate(key))] = Evaluate(value);
                return result;
            }
            case AttributeExpr attribute:
                return JinjaBuiltins.GetAttribute(Evaluate(attribute.Target), attribute.Name);
            case IndexExpr index:
                return JinjaBuiltins.GetItem(Evaluate(index.Target), Evaluate(index.Index), index.Line);
            case SliceExpr slice:
                return JinjaBuiltins.Slice(Evaluate(slice.Target), Optional(slice.Start), Optional(slice.Stop), Optional(slice.Step), slice.Line);
            case CallExpr call:
            {
                var function = Evaluate(call.Function);
                if (function is not Callable callable)
                    throw new TemplateException($"Line {call.Line}: {Describe(call.Function)} is not a function ({JinjaValues.TypeName(function)}).");
                return callable.Invoke(call.Arguments.Select(Evaluate).ToList(), call.Keywords.ToDictionary(k => k.Name, k => Evaluate(k.Value)));
            }
            case FilterExpr filter:
                return JinjaBuiltins.ApplyFilter(filter.Name, Evaluate(filter.Value),
                    filter.Arguments.Select(Evaluate).ToList(), filter.Keywords.ToDictionary(k => k.Name, k => Evaluate(k.Value)), filter.Line, this);
            case TestExpr test:
                bool passed = JinjaBuiltins.ApplyTest(test.Name, Evaluate(test.Value), test.Arguments.Select(Evaluate).ToList(), test.Line);
                return passed != test.Negated;
            case UnaryExpr unary:
            {
                var operand = Evaluate(unary.Operand);
                return unary.Operator switch
                {
                    "not" => !JinjaValues.IsTrue(operand),
                    "-" => operand switch
                    {
                        long l => (object)-l,
                        double d => -d,
                        _ => throw new TemplateException($"Line {unary.Line}: cannot negate {JinjaValues.TypeName(operand)}."),
                    },
                    _ => operand,
                };
            }
            case BinaryExpr { Operator: "and" } and:
            {
                var left = Evaluate(and.Left);
                return JinjaValues.IsTrue(left) ? Evaluate(and.Right) : left;
            }
            case BinaryExpr { Operator: "or" } or:
            {
                var left = Evaluate(or.Left);
                return JinjaValues.IsTrue(left) ? left : Evaluate(or.Right);
            }
            case BinaryExpr binary:
                return JinjaBuiltins.Binary(binary.Operator, Evaluate(binary.Left), Evaluate(binary.Right), binary.Line);
            case ConditionalExpr conditional:
                return JinjaValues.IsTrue(Evaluate(conditional.Condition))
                    ? Evaluate(conditional.Then)
                    : conditional.Else is null ? Undefined.Instance : Evaluate(conditional.Else);
            default:
                throw new TemplateException($"Line {expression.Line}: unknown expression.");
        }
    }

    private object? Optional(Expr? expression) => expression is null ? null : Evaluate(expression);

    private static string Describe(Expr expression) => expression switch
    {
        NameExpr name => $"'{name.Name}'",
        AttributeExpr attribute => $"'.{attribute.Name}'",
        _ => "the called value",
    };

    public static List<object?> Iterate(object? value, int line) => value switch
    {
        List<object?> list => list,
        Dictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => StringElements(s),
        null or Undefined => [],
        _ => throw new TemplateException($"Line {line}: cannot iterate over {JinjaValues.TypeName(value)}."),
    };

    private static List<object?> StringElements(string s)
    {
        // Code points, as Python and JavaScript iterate strings.
        var result = new List<object?>(s.Length);
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
            result.Add(char.IsSurrogatePair(s, i) ? s.Substring(i, 2) : s[i].ToString());
        return result;
    }

    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _variables = [];

        public object? Get(string name)
        {
            for (var scope = this; scope is not null; scope = scope.Parent)
            {
                if (scope._variables.TryGetValue(name, out var value))
                    return value;
            }
            return Undefined.Instance;
        }

        public void Set(string name, object? value) => _variables[name] = value;

        private Scope? Parent => parent;
    }
}
