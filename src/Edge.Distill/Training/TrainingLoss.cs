using static TorchSharp.torch;

namespace Edge.Distill.Training;

/// <summary>The parts of one step's loss, as numbers for the log.</summary>
internal sealed record LossParts(double Total, double CrossEntropy, double Distillation, double Balance);

/// <summary>
/// Cross-entropy on the data, knowledge distillation on the teacher's logits (softened by the
/// temperature, scaled by T^2 as Hinton et al. do so its gradients keep their size), and the MoE
/// load-balancing term. Only the first <c>vocabulary</c> logits count: both models pad their
/// embedding past the tokenizer, and those rows mean nothing.
/// </summary>
internal static class TrainingLoss
{
    public static (Tensor Loss, Tensor CrossEntropy, Tensor? Distillation) Compute(Tensor studentLogits, Tensor targets, Tensor? teacherLogits, int vocabulary, TrainingOptions options)
    {
        var student = studentLogits.narrow(-1, 0, vocabulary).to_type(ScalarType.Float32).reshape(-1, vocabulary);
        var ce = nn.functional.cross_entropy(student, targets.reshape(-1));
        if (teacherLogits is null || options.KdWeight == 0)
            return (ce, ce, null);
        double t = options.Temperature;
        var teacher = teacherLogits.narrow(-1, 0, vocabulary).to_type(ScalarType.Float32).reshape(-1, vocabulary);
        var logStudent = nn.functional.log_softmax(student / t, 1);
        var logTeacher = nn.functional.log_softmax(teacher / t, 1);
        var kl = options.KdDirection == KdDirection.Forward
            ? (logTeacher.exp() * (logTeacher - logStudent)).sum(1).mean()
            : (logStudent.exp() * (logStudent - logTeacher)).sum(1).mean();
        var kd = kl * (t * t);
        return ((1 - options.KdWeight) * ce + options.KdWeight * kd, ce, kd);
    }
}
