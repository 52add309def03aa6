namespace Edge.Runtime.Templates;

/// <summary>
/// A chat template that cannot be used (unsupported construct, syntax error: thrown at load), or
/// a conversation the template refuses (raise_exception, a type error: thrown when rendering).
/// </summary>
public sealed class TemplateException(string message) : Exception(message);
