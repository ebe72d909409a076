using StableDiffusion.Lora;

namespace StableDiffusion.Tests.Lora;

/// <summary>Kohya flat names back to module paths, and sgm block names to diffusers' (diffusers 0.35's _maybe_map_sgm_blocks_to_diffusers, worked by hand).</summary>
public class LoraKeyNamesTests
{
    [Theory]
    [InlineData("down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0")]
    [InlineData("up_blocks_1_attentions_2_transformer_blocks_0_ff_net_0_proj", "up_blocks.1.attentions.2.transformer_blocks.0.ff.net.0.proj")]
    [InlineData("mid_block_resnets_1_conv2", "mid_block.resnets.1.conv2")]
    [InlineData("down_blocks_1_resnets_0_conv_shortcut", "down_blocks.1.resnets.0.conv_shortcut")]
    [InlineData("text_model_encoder_layers_11_self_attn_q_proj", "text_model.encoder.layers.11.self_attn.q_proj")]
    [InlineData("text_model_encoder_layers_0_mlp_fc2", "text_model.encoder.layers.0.mlp.fc2")]
    public void FlatNamesBecomeModulePaths(string flat, string path) => Assert.Equal(path, LoraKeyNames.ToModulePath(flat));

    // layers_per_block = 2: input block i ≥ 1 is down block (i-1)/3, layer (i-1)%3; output block i is up block i/3, layer i%3.
    [Theory]
    [InlineData("input_blocks_1_1_transformer_blocks_0_attn1_to_q", "down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q")]
    [InlineData("input_blocks_5_0_in_layers_2", "down_blocks_1_resnets_1_conv1")]
    [InlineData("input_blocks_3_0_op", "down_blocks_0_downsamplers_0_conv")]
    [InlineData("middle_block_1_proj_in", "mid_block_attentions_0_proj_in")]
    [InlineData("middle_block_2_emb_layers_1", "mid_block_resnets_1_time_emb_proj")]
    [InlineData("middle_block_0_out_layers_3", "mid_block_resnets_0_conv2")]
    [InlineData("output_blocks_5_1_transformer_blocks_0_attn2_to_k", "up_blocks_1_attentions_2_transformer_blocks_0_attn2_to_k")]
    [InlineData("output_blocks_3_0_skip_connection", "up_blocks_1_resnets_0_conv_shortcut")]
    [InlineData("output_blocks_2_2_conv", "up_blocks_0_upsamplers_0_conv")]
    public void SgmBlocksBecomeDiffusersBlocks(string sgm, string diffusers) => Assert.Equal(diffusers, LoraKeyNames.SgmToDiffusers(sgm));

    [Fact]
    public void InputBlockZeroHasNoDiffusersBlock() => Assert.Null(LoraKeyNames.SgmToDiffusers("input_blocks_0_0_weight"));
}
