using System.Device.Gpio;

namespace Edge.Agent.Gpio;

/// <summary>
/// Optional status LEDs on GPIO pins (Gpio:ReadyPin, Gpio:BusyPin, Gpio:ErrorPin, logical
/// numbering). Drives whatever <see cref="GpioController"/> it is given: the board's own driver
/// on a device, the library's driver abstraction in tests.
/// </summary>
internal sealed class StatusLights : IDisposable
{
    private readonly GpioController _controller;
    private readonly int? _ready, _busy, _error;
    private readonly Dictionary<int, PinValue> _state = [];

    public StatusLights(GpioController controller, int? readyPin, int? busyPin, int? errorPin)
    {
        _controller = controller;
        (_ready, _busy, _error) = (readyPin, busyPin, errorPin);
        foreach (int pin in new[] { readyPin, busyPin, errorPin }.OfType<int>())
        {
            controller.OpenPin(pin, PinMode.Output);
            Write(pin, false);
        }
    }

    public void Show(bool ready, bool busy, bool error)
    {
        Set(_ready, ready);
        Set(_busy, busy);
        Set(_error, error);
    }

    private void Set(int? pin, bool on)
    {
        if (pin is { } p && (!_state.TryGetValue(p, out var current) || current != (on ? PinValue.High : PinValue.Low)))
            Write(p, on);
    }

    private void Write(int pin, bool on)
    {
        var value = on ? PinValue.High : PinValue.Low;
        _controller.Write(pin, value);
        _state[pin] = value;
    }

    public void Dispose()
    {
        Show(false, false, false);
        _controller.Dispose();
    }
}
