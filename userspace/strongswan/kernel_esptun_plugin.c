// SPDX-License-Identifier: GPL-2.0
/*
 * kernel-esptun plugin: registers the esptun kernel-ipsec backend.
 */
#include "kernel_esptun_plugin.h"
#include "kernel_esptun_ipsec.h"

#include <daemon.h>

typedef struct private_kernel_esptun_plugin_t private_kernel_esptun_plugin_t;

struct private_kernel_esptun_plugin_t {
	kernel_esptun_plugin_t public;
};

METHOD(plugin_t, get_name, char*,
	private_kernel_esptun_plugin_t *this)
{
	return "kernel-esptun";
}

METHOD(plugin_t, get_features, int,
	private_kernel_esptun_plugin_t *this, plugin_feature_t *features[])
{
	static plugin_feature_t f[] = {
		PLUGIN_CALLBACK(kernel_ipsec_register, kernel_esptun_ipsec_create),
			PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
	};
	*features = f;
	return countof(f);
}

METHOD(plugin_t, destroy, void,
	private_kernel_esptun_plugin_t *this)
{
	free(this);
}

plugin_t *kernel_esptun_plugin_create(void);

plugin_t *kernel_esptun_plugin_create(void)
{
	private_kernel_esptun_plugin_t *this;

	/* Keep it across charon's drop of privileges, as kernel-netlink. */
	if (!lib->caps->keep(lib->caps, CAP_NET_ADMIN))
	{
		DBG1(DBG_KNL, "kernel-esptun plugin requires CAP_NET_ADMIN");
		return NULL;
	}
	INIT(this,
		.public = {
			.plugin = {
				.get_name = _get_name,
				.get_features = _get_features,
				.destroy = _destroy,
			},
		},
	);
	return &this->public.plugin;
}
