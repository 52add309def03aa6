namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// A <see cref="Pattern"/> as a nondeterministic automaton over bytes (Thompson's construction,
/// counted repeats unrolled), with each state's distance in bytes to the accepting state. The
/// number of states is capped, so a pattern whose unrolling would grow without bound (a{1000}{1000})
/// is refused while it is built, not after it has taken the memory.
/// </summary>
public sealed class ByteNfa
{
    public const int DefaultMaxStates = 200_000;
    public const int Unreachable = int.MaxValue;

    private readonly List<List<(ByteSet Set, int Target)>> _edges = [];
    private readonly List<List<int>> _empty = [];
    private readonly int _maxStates;

    private ByteNfa(int maxStates) => _maxStates = maxStates;

    public int Start { get; private set; }
    public int Accept { get; private set; }

    /// <summary>Per state: its byte transitions.</summary>
    public (ByteSet Set, int Target)[][] Edges { get; private set; } = [];

    /// <summary>Per state: the states it reaches without reading a byte.</summary>
    public int[][] Empty { get; private set; } = [];

    /// <summary>Per state: the fewest bytes to the accepting state; <see cref="Unreachable"/> when it cannot get there.</summary>
    public int[] Distance { get; private set; } = [];

    public static ByteNfa Compile(Pattern pattern, int maxStates = DefaultMaxStates)
    {
        var nfa = new ByteNfa(maxStates);
        var (start, end) = nfa.Build(pattern);
        nfa.Start = start;
        nfa.Accept = end;
        nfa.Edges = [.. nfa._edges.Select(e => e.ToArray())];
        nfa.Empty = [.. nfa._empty.Select(e => e.ToArray())];
        nfa.Distance = nfa.Distances();
        return nfa;
    }

    private int NewState()
    {
        if (_edges.Count >= _maxStates)
            throw new GrammarException($"The grammar is too large: it would take more than {_maxStates:N0} automaton states. Lower its counts (maxLength, maxItems, repeats).");
        _edges.Add([]);
        _empty.Add([]);
        return _edges.Count - 1;
    }

    private (int Start, int End) Build(Pattern pattern)
    {
        switch (pattern)
        {
            case OneByte one:
            {
                int s = NewState(), e = NewState();
                if (!one.Set.IsEmpty)
                    _edges[s].Add((one.Set, e));
                return (s, e);
            }
            case Sequence sequence:
            {
                int s = NewState(), current = s;
                foreach (var part in sequence.Parts)
                {
                    var (ps, pe) = Build(part);
                    _empty[current].Add(ps);
                    current = pe;
                }
                return (s, current);
            }
            case Alternatives alternatives:
            {
                int s = NewState(), e = NewState();
                foreach (var option in alternatives.Options)
                {
                    var (os, oe) = Build(option);
                    _empty[s].Add(os);
                    _empty[oe].Add(e);
                }
                return (s, e);
            }
            case Repetition repeat:
                return BuildRepeat(repeat);
            case Members members:
                return BuildMembers(members);
            case SeparatedList list:
                return BuildSeparated(list);
            default:
                throw new InvalidOperationException($"Unknown pattern {pattern.GetType().Name}.");
        }
    }

    private (int Start, int End) BuildRepeat(Repetition repeat)
    {
        if (repeat.Min < 0 || repeat.Max < repeat.Min)
            throw new GrammarException($"A repeat of {repeat.Min} to {repeat.Max} times is not a range.");
        int s = NewState(), current = s;
        for (int i = 0; i < repeat.Min; i++)
        {
            var (bs, be) = Build(repeat.Body);
            _empty[current].Add(bs);
            current = be;
        }
        if (repeat.Max is null)
        {
            int loop = NewState();
            _empty[current].Add(loop);
            var (bs, be) = Build(repeat.Body);
            _empty[loop].Add(bs);
            _empty[be].Add(loop);
            return (s, loop);
        }
        int end = NewState();
        for (int i = repeat.Min; i < repeat.Max; i++)
        {
            _empty[current].Add(end);
            var (bs, be) = Build(repeat.Body);
            _empty[current].Add(bs);
            current = be;
        }
        _empty[current].Add(end);
        return (s, end);
    }

    /// <summary>
    /// Two states before each item: none present yet, or some (then a separator comes first). Both
    /// enter the one copy of the item, whose end leads on the same way either way; an optional item
    /// may be skipped from either, and the list ends after the last item.
    /// </summary>
    private (int Start, int End) BuildMembers(Members members)
    {
        int noneYet = NewState(), some = NewState();
        int start = noneYet;
        foreach (var (item, required) in members.Items)
        {
            int nextNone = NewState(), nextSome = NewState();
            var (itemStart, itemEnd) = Build(item);
            var (separatorStart, separatorEnd) = Build(members.Separator);
            _empty[noneYet].Add(itemStart);
            _empty[some].Add(separatorStart);
            _empty[separatorEnd].Add(itemStart);
            _empty[itemEnd].Add(nextSome);
            if (!required)
            {
                _empty[noneYet].Add(nextNone);
                _empty[some].Add(nextSome);
            }
            noneYet = nextNone;
            some = nextSome;
        }
        int end = NewState();
        _empty[noneYet].Add(end);
        _empty[some].Add(end);
        return (start, end);
    }

    /// <summary>
    /// Items with separators between them. Unbounded, the one copy of the item loops back through
    /// the separator (its end always leads on the same way); with a maximum it is unrolled.
    /// </summary>
    private (int Start, int End) BuildSeparated(SeparatedList list)
    {
        if (list.Max is not null || list.Min > 1)
        {
            var rest = new Repetition(Pattern.Concat(list.Separator, list.Item), Math.Max(list.Min - 1, 0), list.Max - 1);
            var whole = Pattern.Concat(list.Item, rest);
            return Build(list.Min == 0 ? Pattern.Optional(whole) : whole);
        }
        int s = NewState(), e = NewState();
        var (itemStart, itemEnd) = Build(list.Item);
        var (separatorStart, separatorEnd) = Build(list.Separator);
        _empty[s].Add(itemStart);
        if (list.Min == 0)
            _empty[s].Add(e);
        _empty[itemEnd].Add(e);
        _empty[itemEnd].Add(separatorStart);
        _empty[separatorEnd].Add(itemStart);
        return (s, e);
    }

    /// <summary>Fewest bytes from each state to the accepting one: a 0-1 breadth-first search backwards from it.</summary>
    private int[] Distances()
    {
        int n = _edges.Count;
        var backByte = new List<int>[n];
        var backEmpty = new List<int>[n];
        for (int s = 0; s < n; s++)
        {
            foreach (var (_, t) in Edges[s])
                (backByte[t] ??= []).Add(s);
            foreach (int t in Empty[s])
                (backEmpty[t] ??= []).Add(s);
        }
        var distance = new int[n];
        Array.Fill(distance, Unreachable);
        distance[Accept] = 0;
        var queue = new LinkedList<int>();
        queue.AddFirst(Accept);
        while (queue.First is { } first)
        {
            queue.RemoveFirst();
            int t = first.Value;
            foreach (int s in backEmpty[t] ?? [])
            {
                if (distance[t] < distance[s])
                {
                    distance[s] = distance[t];
                    queue.AddFirst(s);
                }
            }
            foreach (int s in backByte[t] ?? [])
            {
                if (distance[t] + 1 < distance[s])
                {
                    distance[s] = distance[t] + 1;
                    queue.AddLast(s);
                }
            }
        }
        return distance;
    }
}
