namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// A <see cref="ByteNfa"/> made deterministic on demand: a state is the set of automaton states
/// the bytes so far may be in (only those that read a byte or accept, and only those that can
/// still reach acceptance), numbered the first time it is reached, and each transition is worked
/// out the first time it is taken. A schema's automaton has far more states than any output
/// visits, so the whole subset construction is never done. Thread-safe: sequences of one grammar
/// share it; a new state or transition is made under a lock, and known ones are read without one.
/// </summary>
public sealed class LazyDfa : IByteAutomaton<int>
{
    public const int MaxStates = 1 << 16;
    private const int Unknown = int.MinValue;
    private const int Dead = -1;

    private sealed record Node(int[] Members, int Distance, bool Accepts, bool Final)
    {
        public readonly int[] Next = NewRow();
    }

    private readonly ByteNfa _nfa;
    private readonly Dictionary<string, int> _ids = [];
    private readonly Lock _lock = new();
    private Node[] _nodes = new Node[64];
    private int _count;

    public LazyDfa(ByteNfa nfa)
    {
        _nfa = nfa;
        if (nfa.Distance[nfa.Start] == ByteNfa.Unreachable)
            throw new GrammarException("The grammar matches no output at all.");
        lock (_lock)
            Start = Intern(Closure([nfa.Start]));
    }

    public int Start { get; }

    public bool TryStep(int state, byte b, out int next)
    {
        next = Volatile.Read(ref _nodes)[state].Next[b];
        if (next == Unknown)
        {
            lock (_lock)
                next = Transition(state, b);
        }
        return next != Dead;
    }

    public int DistanceToEnd(int state) => Volatile.Read(ref _nodes)[state].Distance;
    public bool Accepts(int state) => Volatile.Read(ref _nodes)[state].Accepts;
    public bool IsFinal(int state) => Volatile.Read(ref _nodes)[state].Final;

    public byte[] ShortestEnd(int state)
    {
        var bytes = new List<byte>();
        while (DistanceToEnd(state) > 0)
        {
            byte b = NextByteTowardsEnd(state);
            bytes.Add(b);
            if (!TryStep(state, b, out state))
                throw new InvalidOperationException("The shortest way to the end left the automaton.");
        }
        return [.. bytes];
    }

    /// <summary>A byte on a shortest path: some member at the state's distance has an edge one byte nearer the end, possibly after empty moves.</summary>
    private byte NextByteTowardsEnd(int state)
    {
        var node = Volatile.Read(ref _nodes)[state];
        foreach (int member in node.Members)
        {
            if (_nfa.Distance[member] != node.Distance)
                continue;
            foreach (var (set, target) in _nfa.Edges[member])
            {
                if (_nfa.Distance[target] == node.Distance - 1)
                    return set.First();
            }
        }
        throw new InvalidOperationException("No byte leads nearer the end.");
    }

    private static int[] NewRow()
    {
        var row = new int[256];
        Array.Fill(row, Unknown);
        return row;
    }

    private int Transition(int state, byte b)
    {
        var node = _nodes[state];
        if (node.Next[b] != Unknown)
            return node.Next[b];
        var targets = new List<int>();
        foreach (int member in node.Members)
        {
            foreach (var (set, target) in _nfa.Edges[member])
            {
                if (set.Contains(b) && _nfa.Distance[target] != ByteNfa.Unreachable)
                    targets.Add(target);
            }
        }
        int next = targets.Count == 0 ? Dead : Intern(Closure(targets));
        Volatile.Write(ref node.Next[b], next);
        return next;
    }

    /// <summary>The states reachable without a byte, keeping those that read a byte or accept and can reach acceptance, sorted.</summary>
    private int[] Closure(List<int> from)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>(from);
        var kept = new List<int>();
        while (stack.TryPop(out int s))
        {
            if (!seen.Add(s) || _nfa.Distance[s] == ByteNfa.Unreachable)
                continue;
            if (s == _nfa.Accept || _nfa.Edges[s].Length > 0)
                kept.Add(s);
            foreach (int t in _nfa.Empty[s])
                stack.Push(t);
        }
        kept.Sort();
        return [.. kept];
    }

    private int Intern(int[] members)
    {
        string key = string.Join(',', members);
        if (_ids.TryGetValue(key, out int id))
            return id;
        if (_count >= MaxStates)
            throw new GrammarException($"The grammar is too complex: its output reached more than {MaxStates:N0} distinct states.");
        int distance = members.Min(m => _nfa.Distance[m]);
        bool accepts = members.Contains(_nfa.Accept);
        bool final = accepts && members.All(m => _nfa.Edges[m].All(e => _nfa.Distance[e.Target] == ByteNfa.Unreachable));
        if (_count == _nodes.Length)
        {
            var grown = new Node[_nodes.Length * 2];
            Array.Copy(_nodes, grown, _count);
            Volatile.Write(ref _nodes, grown);
        }
        _nodes[_count] = new Node(members, distance, accepts, final);
        _ids[key] = _count;
        return _count++;
    }
}
