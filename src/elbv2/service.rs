//! The `Elbv2` trait implemented over a scope: one thin method per operation, each handing
//! off to the module of its resource.

use super::*;
use api_models as m;

impl m::Elbv2 for Service<'_> {
    type Error = ApiError;
    fn add_listener_certificates(
        &mut self,
        i: m::AddListenerCertificatesInput,
    ) -> ApiResult<m::AddListenerCertificatesOutput> {
        self.add_listener_certificates_impl(i)
    }
    fn add_tags(&mut self, i: m::AddTagsInput) -> ApiResult<m::AddTagsOutput> {
        self.add_tags_impl(i)
    }
    fn add_trust_store_revocations(
        &mut self,
        i: m::AddTrustStoreRevocationsInput,
    ) -> ApiResult<m::AddTrustStoreRevocationsOutput> {
        self.add_trust_store_revocations_impl(i)
    }
    fn create_listener(&mut self, i: m::CreateListenerInput) -> ApiResult<m::CreateListenerOutput> {
        self.create_listener_impl(i)
    }
    fn create_load_balancer(
        &mut self,
        i: m::CreateLoadBalancerInput,
    ) -> ApiResult<m::CreateLoadBalancerOutput> {
        self.create_load_balancer_impl(i)
    }
    fn create_rule(&mut self, i: m::CreateRuleInput) -> ApiResult<m::CreateRuleOutput> {
        self.create_rule_impl(i)
    }
    fn create_target_group(
        &mut self,
        i: m::CreateTargetGroupInput,
    ) -> ApiResult<m::CreateTargetGroupOutput> {
        self.create_target_group_impl(i)
    }
    fn create_trust_store(
        &mut self,
        i: m::CreateTrustStoreInput,
    ) -> ApiResult<m::CreateTrustStoreOutput> {
        self.create_trust_store_impl(i)
    }
    fn delete_listener(&mut self, i: m::DeleteListenerInput) -> ApiResult<m::DeleteListenerOutput> {
        self.delete_listener_impl(i)
    }
    fn delete_load_balancer(
        &mut self,
        i: m::DeleteLoadBalancerInput,
    ) -> ApiResult<m::DeleteLoadBalancerOutput> {
        self.delete_load_balancer_impl(i)
    }
    fn delete_rule(&mut self, i: m::DeleteRuleInput) -> ApiResult<m::DeleteRuleOutput> {
        self.delete_rule_impl(i)
    }
    fn delete_shared_trust_store_association(
        &mut self,
        i: m::DeleteSharedTrustStoreAssociationInput,
    ) -> ApiResult<m::DeleteSharedTrustStoreAssociationOutput> {
        self.delete_shared_trust_store_association_impl(i)
    }
    fn delete_target_group(
        &mut self,
        i: m::DeleteTargetGroupInput,
    ) -> ApiResult<m::DeleteTargetGroupOutput> {
        self.delete_target_group_impl(i)
    }
    fn delete_trust_store(
        &mut self,
        i: m::DeleteTrustStoreInput,
    ) -> ApiResult<m::DeleteTrustStoreOutput> {
        self.delete_trust_store_impl(i)
    }
    fn deregister_targets(
        &mut self,
        i: m::DeregisterTargetsInput,
    ) -> ApiResult<m::DeregisterTargetsOutput> {
        self.deregister_targets_impl(i)
    }
    fn describe_account_limits(
        &mut self,
        i: m::DescribeAccountLimitsInput,
    ) -> ApiResult<m::DescribeAccountLimitsOutput> {
        self.describe_account_limits_impl(i)
    }
    fn describe_capacity_reservation(
        &mut self,
        i: m::DescribeCapacityReservationInput,
    ) -> ApiResult<m::DescribeCapacityReservationOutput> {
        self.describe_capacity_reservation_impl(i)
    }
    fn describe_listener_attributes(
        &mut self,
        i: m::DescribeListenerAttributesInput,
    ) -> ApiResult<m::DescribeListenerAttributesOutput> {
        self.describe_listener_attributes_impl(i)
    }
    fn describe_listener_certificates(
        &mut self,
        i: m::DescribeListenerCertificatesInput,
    ) -> ApiResult<m::DescribeListenerCertificatesOutput> {
        self.describe_listener_certificates_impl(i)
    }
    fn describe_listeners(
        &mut self,
        i: m::DescribeListenersInput,
    ) -> ApiResult<m::DescribeListenersOutput> {
        self.describe_listeners_impl(i)
    }
    fn describe_load_balancer_attributes(
        &mut self,
        i: m::DescribeLoadBalancerAttributesInput,
    ) -> ApiResult<m::DescribeLoadBalancerAttributesOutput> {
        self.describe_load_balancer_attributes_impl(i)
    }
    fn describe_load_balancers(
        &mut self,
        i: m::DescribeLoadBalancersInput,
    ) -> ApiResult<m::DescribeLoadBalancersOutput> {
        self.describe_load_balancers_impl(i)
    }
    fn describe_rules(&mut self, i: m::DescribeRulesInput) -> ApiResult<m::DescribeRulesOutput> {
        self.describe_rules_impl(i)
    }
    fn describe_ssl_policies(
        &mut self,
        i: m::DescribeSSLPoliciesInput,
    ) -> ApiResult<m::DescribeSSLPoliciesOutput> {
        self.describe_ssl_policies_impl(i)
    }
    fn describe_tags(&mut self, i: m::DescribeTagsInput) -> ApiResult<m::DescribeTagsOutput> {
        self.describe_tags_impl(i)
    }
    fn describe_target_group_attributes(
        &mut self,
        i: m::DescribeTargetGroupAttributesInput,
    ) -> ApiResult<m::DescribeTargetGroupAttributesOutput> {
        self.describe_target_group_attributes_impl(i)
    }
    fn describe_target_groups(
        &mut self,
        i: m::DescribeTargetGroupsInput,
    ) -> ApiResult<m::DescribeTargetGroupsOutput> {
        self.describe_target_groups_impl(i)
    }
    fn describe_target_health(
        &mut self,
        i: m::DescribeTargetHealthInput,
    ) -> ApiResult<m::DescribeTargetHealthOutput> {
        self.describe_target_health_impl(i)
    }
    fn describe_trust_store_associations(
        &mut self,
        i: m::DescribeTrustStoreAssociationsInput,
    ) -> ApiResult<m::DescribeTrustStoreAssociationsOutput> {
        self.describe_trust_store_associations_impl(i)
    }
    fn describe_trust_store_revocations(
        &mut self,
        i: m::DescribeTrustStoreRevocationsInput,
    ) -> ApiResult<m::DescribeTrustStoreRevocationsOutput> {
        self.describe_trust_store_revocations_impl(i)
    }
    fn describe_trust_stores(
        &mut self,
        i: m::DescribeTrustStoresInput,
    ) -> ApiResult<m::DescribeTrustStoresOutput> {
        self.describe_trust_stores_impl(i)
    }
    fn get_resource_policy(
        &mut self,
        i: m::GetResourcePolicyInput,
    ) -> ApiResult<m::GetResourcePolicyOutput> {
        self.get_resource_policy_impl(i)
    }
    fn get_trust_store_ca_certificates_bundle(
        &mut self,
        i: m::GetTrustStoreCaCertificatesBundleInput,
    ) -> ApiResult<m::GetTrustStoreCaCertificatesBundleOutput> {
        self.get_trust_store_ca_certificates_bundle_impl(i)
    }
    fn get_trust_store_revocation_content(
        &mut self,
        i: m::GetTrustStoreRevocationContentInput,
    ) -> ApiResult<m::GetTrustStoreRevocationContentOutput> {
        self.get_trust_store_revocation_content_impl(i)
    }
    fn modify_capacity_reservation(
        &mut self,
        i: m::ModifyCapacityReservationInput,
    ) -> ApiResult<m::ModifyCapacityReservationOutput> {
        self.modify_capacity_reservation_impl(i)
    }
    fn modify_ip_pools(&mut self, i: m::ModifyIpPoolsInput) -> ApiResult<m::ModifyIpPoolsOutput> {
        self.modify_ip_pools_impl(i)
    }
    fn modify_listener(&mut self, i: m::ModifyListenerInput) -> ApiResult<m::ModifyListenerOutput> {
        self.modify_listener_impl(i)
    }
    fn modify_listener_attributes(
        &mut self,
        i: m::ModifyListenerAttributesInput,
    ) -> ApiResult<m::ModifyListenerAttributesOutput> {
        self.modify_listener_attributes_impl(i)
    }
    fn modify_load_balancer_attributes(
        &mut self,
        i: m::ModifyLoadBalancerAttributesInput,
    ) -> ApiResult<m::ModifyLoadBalancerAttributesOutput> {
        self.modify_load_balancer_attributes_impl(i)
    }
    fn modify_rule(&mut self, i: m::ModifyRuleInput) -> ApiResult<m::ModifyRuleOutput> {
        self.modify_rule_impl(i)
    }
    fn modify_target_group(
        &mut self,
        i: m::ModifyTargetGroupInput,
    ) -> ApiResult<m::ModifyTargetGroupOutput> {
        self.modify_target_group_impl(i)
    }
    fn modify_target_group_attributes(
        &mut self,
        i: m::ModifyTargetGroupAttributesInput,
    ) -> ApiResult<m::ModifyTargetGroupAttributesOutput> {
        self.modify_target_group_attributes_impl(i)
    }
    fn modify_trust_store(
        &mut self,
        i: m::ModifyTrustStoreInput,
    ) -> ApiResult<m::ModifyTrustStoreOutput> {
        self.modify_trust_store_impl(i)
    }
    fn register_targets(
        &mut self,
        i: m::RegisterTargetsInput,
    ) -> ApiResult<m::RegisterTargetsOutput> {
        self.register_targets_impl(i)
    }
    fn remove_listener_certificates(
        &mut self,
        i: m::RemoveListenerCertificatesInput,
    ) -> ApiResult<m::RemoveListenerCertificatesOutput> {
        self.remove_listener_certificates_impl(i)
    }
    fn remove_tags(&mut self, i: m::RemoveTagsInput) -> ApiResult<m::RemoveTagsOutput> {
        self.remove_tags_impl(i)
    }
    fn remove_trust_store_revocations(
        &mut self,
        i: m::RemoveTrustStoreRevocationsInput,
    ) -> ApiResult<m::RemoveTrustStoreRevocationsOutput> {
        self.remove_trust_store_revocations_impl(i)
    }
    fn set_ip_address_type(
        &mut self,
        i: m::SetIpAddressTypeInput,
    ) -> ApiResult<m::SetIpAddressTypeOutput> {
        self.set_ip_address_type_impl(i)
    }
    fn set_rule_priorities(
        &mut self,
        i: m::SetRulePrioritiesInput,
    ) -> ApiResult<m::SetRulePrioritiesOutput> {
        self.set_rule_priorities_impl(i)
    }
    fn set_security_groups(
        &mut self,
        i: m::SetSecurityGroupsInput,
    ) -> ApiResult<m::SetSecurityGroupsOutput> {
        self.set_security_groups_impl(i)
    }
    fn set_subnets(&mut self, i: m::SetSubnetsInput) -> ApiResult<m::SetSubnetsOutput> {
        self.set_subnets_impl(i)
    }
}
