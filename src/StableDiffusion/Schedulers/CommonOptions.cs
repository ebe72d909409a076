namespace StableDiffusion.Schedulers;

/// <summary>
/// Option declarations that many scheduler classes share (same key, type and allowed values; defaults vary by class,
/// hence the parameters). Defaults are those of diffusers 0.35.2.
/// </summary>
public static class CommonOptions
{
    public const string Epsilon = "epsilon";
    public const string VPrediction = "v_prediction";
    public const string Sample = "sample";

    /// <summary><c>num_train_timesteps</c>, <c>beta_start</c>, <c>beta_end</c>, <c>beta_schedule</c>, <c>trained_betas</c>.</summary>
    public static IEnumerable<SchedulerOption> NoiseSchedule(double betaStart = 0.0001, double betaEnd = 0.02, string betaSchedule = "linear",
                                                           bool allowSigmoid = false)
    {
        yield return SchedulerOption.Integer("num_train_timesteps", 1000);
        yield return SchedulerOption.Number("beta_start", betaStart);
        yield return SchedulerOption.Number("beta_end", betaEnd);
        yield return allowSigmoid
            ? SchedulerOption.Choice("beta_schedule", betaSchedule, Schedulers.NoiseSchedule.Linear, Schedulers.NoiseSchedule.ScaledLinear,
                                     Schedulers.NoiseSchedule.SquaredCosCapV2, Schedulers.NoiseSchedule.Sigmoid)
            : SchedulerOption.Choice("beta_schedule", betaSchedule, Schedulers.NoiseSchedule.Linear, Schedulers.NoiseSchedule.ScaledLinear,
                                     Schedulers.NoiseSchedule.SquaredCosCapV2);
        yield return SchedulerOption.NumberArray("trained_betas");
    }

    /// <summary><c>prediction_type</c>: what the model predicts.</summary>
    public static SchedulerOption PredictionType(string defaultValue = Epsilon, params string[] allowed) =>
        SchedulerOption.Choice("prediction_type", defaultValue, allowed.Length > 0 ? allowed : [Epsilon, VPrediction, Sample]);

    public static SchedulerOption TimestepSpacing(string defaultValue) =>
        SchedulerOption.Choice("timestep_spacing", defaultValue, Schedulers.TimestepSpacing.All);

    public static SchedulerOption StepsOffset(int defaultValue = 0) => SchedulerOption.Integer("steps_offset", defaultValue);

    public static SchedulerOption RescaleBetasZeroSnr(bool defaultValue = false) => SchedulerOption.Boolean("rescale_betas_zero_snr", defaultValue);

    public static SchedulerOption FinalSigmasType(string defaultValue = SigmaSchedule.FinalZero) =>
        SchedulerOption.Choice("final_sigmas_type", defaultValue, SigmaSchedule.FinalZero, SigmaSchedule.FinalSigmaMin);

    public static SchedulerOption ClipSample(bool defaultValue) => SchedulerOption.Boolean("clip_sample", defaultValue);

    public static SchedulerOption SetAlphaToOne(bool defaultValue) => SchedulerOption.Boolean("set_alpha_to_one", defaultValue);

    /// <summary>Dynamic thresholding (Imagen): <c>thresholding</c>, <c>dynamic_thresholding_ratio</c>, <c>sample_max_value</c>.</summary>
    public static IEnumerable<SchedulerOption> Thresholding(double sampleMaxValue = 1.0)
    {
        yield return SchedulerOption.Boolean("thresholding", false);
        yield return SchedulerOption.Number("dynamic_thresholding_ratio", 0.995);
        yield return SchedulerOption.Number("sample_max_value", sampleMaxValue);
    }
}
