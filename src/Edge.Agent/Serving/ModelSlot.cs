namespace Edge.Agent.Serving;

/// <summary>
/// The model in service, swappable while requests run: each request takes a lease on the current
/// model and keeps using it to the end; <see cref="Swap"/> sends new requests to the new model
/// and lets the old one drain.
/// </summary>
internal sealed class ModelSlot(ServingModel initial) : IDisposable
{
    private ServingModel _current = initial;

    /// <summary>The model new requests get (for reads that need no lease: versions, gauges).</summary>
    public ServingModel Current => Volatile.Read(ref _current);

    public Lease Acquire()
    {
        while (true)
        {
            var model = Current;
            model.AddLease();
            if (ReferenceEquals(model, Current))
                return new Lease(model);
            model.ReleaseLease(); // swapped between the read and the lease: take the new one
        }
    }

    /// <returns>The model that was in service (retired: disposed once its requests finish).</returns>
    public ServingModel Swap(ServingModel next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        previous.Retire();
        return previous;
    }

    public void Dispose() => Current.Retire();

    /// <summary>A request's hold on a model.</summary>
    public sealed class Lease(ServingModel model) : IDisposable
    {
        private int _released;

        public ServingModel Model { get; } = model;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                Model.ReleaseLease();
        }
    }
}
